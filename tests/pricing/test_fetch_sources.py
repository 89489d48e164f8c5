"""scripts/fetch_price_sources.py, offline: the release selection on a fake index, and the pinned
fetch (select run, then ``--locked``) against tiny wheels served from memory by an injected opener."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MEMBER = "litellm/model_prices_and_context_window_backup.json"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("fetch_price_sources", REPO / "scripts" / "fetch_price_sources.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


fps = _load_script()


def _file(name: str, uploaded: str, *, yanked: bool = False, sha: str = "0" * 64) -> dict[str, Any]:
    kind = "bdist_wheel" if name.endswith(".whl") else "sdist"
    return {"filename": name, "upload_time_iso_8601": uploaded, "yanked": yanked, "packagetype": kind,
            "digests": {"sha256": sha}, "url": f"../../packages/packages/aa/bb/{name}", "size": 1}


def _wheel(dist: str, version: str, uploaded: str, **kw: Any) -> list[dict[str, Any]]:
    return [_file(f"{dist}-{version}-py3-none-any.whl", uploaded, **kw)]


def _selected(dist: str, releases: dict[str, list[dict[str, Any]]]) -> list[str]:
    picks = fps.SOURCES[dist].select(fps.final_picks(dist, releases))
    return sorted((p.version for p in picks), key=fps.version_key)


def test_litellm_every_2023_1x_then_the_highest_version_of_each_utc_day() -> None:
    releases = {
        "0.14.0": _wheel("litellm", "0.14.0", "2023-11-10T10:00:00Z"),  # 0.x: not taken
        "1.0.0.dev1": _wheel("litellm", "1.0.0.dev1", "2023-11-12T10:00:00Z"),  # pre-release
        "1.0.0": _wheel("litellm", "1.0.0", "2023-11-14T10:00:00Z"),
        "1.0.3": _wheel("litellm", "1.0.3", "2023-11-14T11:00:00Z"),  # same day: 2023 keeps both
        "1.53.0": _wheel("litellm", "1.53.0", "2024-11-27T23:59:00Z"),
        "1.53.1": _wheel("litellm", "1.53.1", "2024-11-28T00:01:00Z"),  # a new UTC day
        # parallel patch lines: the later upload (1.99.9) is the lower version, and so is "1.99.9" as a string
        "1.100.0": _wheel("litellm", "1.100.0", "2025-06-01T08:00:00Z"),
        "1.99.9": _wheel("litellm", "1.99.9", "2025-06-01T20:00:00Z"),
        "1.101.0rc1": _wheel("litellm", "1.101.0rc1", "2025-06-01T21:00:00Z"),
        # the compromised versions are never taken, even as the day's highest
        "1.82.6": _wheel("litellm", "1.82.6", "2026-03-24T01:00:00Z"),
        "1.82.7": _wheel("litellm", "1.82.7", "2026-03-24T02:00:00Z"),
        "1.82.8": _wheel("litellm", "1.82.8", "2026-03-24T03:00:00Z"),
        # a yanked release drops out, so the day's next highest is taken
        "1.90.1": _wheel("litellm", "1.90.1", "2026-07-01T03:00:00Z", yanked=True),
        "1.90.0": _wheel("litellm", "1.90.0", "2026-07-01T02:00:00Z"),
    }
    assert _selected("litellm", releases) == ["1.0.0", "1.0.3", "1.53.0", "1.53.1", "1.82.6", "1.90.0", "1.100.0"]


def test_other_sources_select_0_1_x_all_and_newest() -> None:
    tokencost = {v: _wheel("tokencost", v, "2024-05-01T00:00:00Z") for v in ("0.0.5", "0.1.0", "0.1.26", "0.2.0")}
    assert _selected("tokencost", tokencost) == ["0.1.0", "0.1.26"]
    auto = {v: _wheel("tokencostauto", v, f"2025-05-{d:02d}T00:00:00Z") for d, v in enumerate(("0.1.25", "0.1.9"), 1)}
    assert _selected("tokencostauto", auto) == ["0.1.9", "0.1.25"]
    genai = {v: _wheel("genai-prices", v, "2025-07-11T00:00:00Z") for v in ("0.0.9", "0.0.10", "0.1.0.dev1")}
    assert _selected("genai-prices", genai) == ["0.0.10"]


@pytest.mark.parametrize(("names", "chosen"), [
    (["x-1.0.tar.gz", "x-1.0-cp310-abi3-manylinux_2_28_x86_64.whl", "x-1.0-py3-none-any.whl"],
     "x-1.0-py3-none-any.whl"),
    (["x-1.0.tar.gz", "x-1.0-cp311-cp311-manylinux2014_x86_64.whl", "x-1.0-cp310-abi3-manylinux_2_28_x86_64.whl",
      "x-1.0-cp310-abi3-manylinux_2_28_aarch64.whl"], "x-1.0-cp310-abi3-manylinux_2_28_x86_64.whl"),
    (["x-1.0.tar.gz", "x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "x-1.0-cp312-cp312-manylinux2014_x86_64.whl"],
     "x-1.0-cp312-cp312-manylinux2014_x86_64.whl"),
    (["x-1.0-cp312-cp312-win_amd64.whl", "x-1.0.tar.gz"], "x-1.0.tar.gz"),
])
def test_file_preference(names: list[str], chosen: str) -> None:
    pick = fps.best_file("x", "1.0", [_file(n, "2025-01-01T00:00:00Z") for n in names])
    assert pick.file == chosen
    assert pick.url == f"https://pypi.org/packages/packages/aa/bb/{chosen}"  # made absolute


def test_yanked_files_are_skipped() -> None:
    files = [_file("x-1.0-py3-none-any.whl", "2025-01-01T00:00:00Z", yanked=True),
             _file("x-1.0.tar.gz", "2025-01-01T00:00:00Z")]
    assert fps.best_file("x", "1.0", files).file == "x-1.0.tar.gz"
    assert fps.best_file("x", "1.0", files[:1]) is None


# --- fetching, against an in-memory index ------------------------------------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


LICENCE = b"MIT License\n\nPermission is hereby granted, free of charge, to any person\n"


def _litellm_wheel(version: str, prices: bytes) -> bytes:
    info = f"litellm-{version}.dist-info"
    return _zip({MEMBER: prices, f"{info}/licenses/LICENSE": LICENCE,
                 f"{info}/METADATA": b"Metadata-Version: 2.4\nName: litellm\nLicense-Expression: MIT\n\n"})


class FakeIndex:
    """Serves index JSON and release files from memory; counts what it served."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.releases: dict[str, dict[str, list[dict[str, Any]]]] = {d: {} for d in fps.SOURCES}
        self.served: list[str] = []

    def add(self, dist: str, version: str, uploaded: str, data: bytes) -> None:
        name = f"{dist}-{version}-py3-none-any.whl"
        self.files[name] = data
        sha = hashlib.sha256(data).hexdigest()
        self.releases[dist][version] = [_file(name, uploaded, sha=sha)]

    def __call__(self, url: str) -> io.BytesIO:
        self.served.append(url)
        if url.endswith("/json"):
            dist = url.rsplit("/", 2)[-2]
            return io.BytesIO(json.dumps({"releases": self.releases[dist]}).encode())
        return io.BytesIO(self.files[url.rsplit("/", 1)[-1]])


@pytest.fixture
def index() -> FakeIndex:
    fake = FakeIndex()
    fake.add("litellm", "1.60.0", "2025-02-01T10:00:00Z", _litellm_wheel("1.60.0", b'{"gpt-4o": {}}'))
    fake.add("litellm", "1.61.0", "2025-02-02T10:00:00Z", _zip({"litellm/__init__.py": b""}))  # no price file
    return fake


def _run(tmp_path: Path, opener: FakeIndex, *extra: str) -> int:
    argv = ["--cache", str(tmp_path / "cache"), "--data", str(tmp_path / "data"), "--jobs", "2", *extra]
    return fps.main(argv, opener=opener)


def test_select_run_writes_lock_licences_and_sources(tmp_path: Path, index: FakeIndex) -> None:
    assert _run(tmp_path, index) == 0
    lock = json.loads((tmp_path / "data" / "sources.lock.json").read_text())
    assert lock["schema"] == "llmaudit-price-sources/1"
    assert [e["version"] for e in lock["excluded"]] == ["1.82.7", "1.82.8"]
    assert lock["skipped"] == [{"dist": "litellm", "version": "1.61.0", "file": "litellm-1.61.0-py3-none-any.whl",
                                "reason": f"no {MEMBER} or litellm/model_prices_and_context_window.json or "
                                          "model_prices_and_context_window.json in litellm-1.61.0-py3-none-any.whl"}]
    [item] = lock["inputs"]
    assert item["member_sha256"] == hashlib.sha256(b'{"gpt-4o": {}}').hexdigest()
    assert (item["date"], item["licence"], item["member"]) == ("2025-02-01", "MIT", MEMBER)
    assert (tmp_path / "cache" / "litellm-1.60.0" / MEMBER).read_bytes() == b'{"gpt-4o": {}}'
    assert not (tmp_path / "cache" / item["file"]).exists()  # the archive is dropped without --keep
    assert "Permission is hereby granted" in (tmp_path / "data" / "licences" / "litellm.txt").read_text()
    assert "- Inputs pinned: 1" in (tmp_path / "data" / "SOURCES.md").read_text()


def test_rerun_and_locked_run_reuse_the_verified_cache(tmp_path: Path, index: FakeIndex) -> None:
    assert _run(tmp_path, index) == 0
    index.served.clear()
    assert _run(tmp_path, index, "--locked") == 0
    assert index.served == []  # nothing asked of the index, nothing downloaded


def test_locked_rejects_a_tampered_member(tmp_path: Path, index: FakeIndex, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    assert _run(tmp_path, index) == 0
    lock_path = tmp_path / "data" / "sources.lock.json"
    lock = json.loads(lock_path.read_text())
    # Same file name, new bytes with a different price inside, and a lock whose file digest follows
    # them: only the member digest can catch it.
    tampered = _litellm_wheel("1.60.0", b'{"gpt-4o": {"input_cost_per_token": 0}}')
    index.files[lock["inputs"][0]["file"]] = tampered
    lock["inputs"][0]["sha256"] = hashlib.sha256(tampered).hexdigest()
    lock_path.write_text(json.dumps(lock))
    assert _run(tmp_path, index, "--locked") == 1
    err = capsys.readouterr().err
    assert "litellm 1.60.0 (litellm-1.60.0-py3-none-any.whl)" in err and "the lock says" in err
    assert not (tmp_path / "cache" / "litellm-1.60.0" / MEMBER).exists()  # rejected bytes are not left behind


def test_locked_rejects_a_file_whose_digest_differs(tmp_path: Path, index: FakeIndex,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, index) == 0
    lock = json.loads((tmp_path / "data" / "sources.lock.json").read_text())
    index.files[lock["inputs"][0]["file"]] = _litellm_wheel("1.60.0", b"{}")
    argv = ["--cache", str(tmp_path / "fresh-cache"), "--data", str(tmp_path / "data"), "--locked"]
    assert fps.main(argv, opener=index) == 1
    assert "litellm 1.60.0 (litellm-1.60.0-py3-none-any.whl): file sha256 is" in capsys.readouterr().err


def test_the_lock_beside_the_price_files_is_not_read_as_one(tmp_path: Path) -> None:
    from llmaudit.pricing.catalog import price_files

    for name in ("openai.json", "sources.lock.json"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in price_files(tmp_path)] == ["openai.json"]


def test_the_committed_lock_is_well_formed() -> None:
    lock = json.loads((REPO / "pricing_data" / "sources.lock.json").read_text())
    tasks = fps.plan_from_lock(lock)  # checks the schema and that every input names a known source
    assert {t.pick.dist for t in tasks} == set(fps.SOURCES)
    assert not {(i["dist"], i["version"]) for i in lock["inputs"]} & set(fps.EXCLUDED)
    assert all(i["url"].startswith("https://") and len(i["sha256"]) == len(i["member_sha256"]) == 64
               for i in lock["inputs"])


def test_a_lock_naming_an_excluded_release_is_refused() -> None:
    item = {"dist": "litellm", "version": "1.82.7", "file": "f", "url": "u", "sha256": "s", "uploaded": "t",
            "member": MEMBER, "member_sha256": "m"}
    with pytest.raises(fps.FetchError, match=r"1\.82\.7: excluded, reported compromised"):
        fps.plan_from_lock({"schema": fps.SCHEMA, "inputs": [item]})
