from llmaudit.cli import run

run()
