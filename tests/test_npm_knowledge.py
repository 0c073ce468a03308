from __future__ import annotations

from importlib import resources

import pytest

from dockerarch.knowledge import data, npm
from dockerarch.knowledge.npm import (
    PLATFORM_KEYS,
    Note,
    PlatformPackage,
    SemVer,
    addon_support,
    classify_install,
    load_curated,
    max_satisfying,
    parse_curated,
    platform_key,
    platform_package_from_name,
    prebuilds_from_listing,
    resolve_version,
    satisfies,
    summarize_version,
)
from tests.scripts import load_script

# --- answers from the shipped snapshot -------------------------------------------------------


def test_canvas_2_builds_from_source_on_arm64_only() -> None:
    arm = addon_support("canvas", "2.11.2", "arm64", "glibc")
    assert arm is not None
    assert arm.resolved_version == "2.11.2"
    assert arm.prebuilt is False and arm.builds_from_source and not arm.unsupported
    assert any("node-canvas/issues" in s for s in arm.sources)
    amd = addon_support("canvas", "2.11.2", "amd64", "glibc")
    assert amd is not None
    assert amd.prebuilt is True and not amd.builds_from_source and not amd.needs_attention


def test_canvas_range_and_first_prebuilt_version() -> None:
    arm = addon_support("canvas", "^2.8.0", "aarch64", "gnu")
    assert arm is not None and arm.resolved_version == "2.11.2"
    assert arm.first_version_with_prebuilt("arm64", "glibc") == "3.1.1"
    assert arm.first_version_with_prebuilt("x86_64", "glibc") is not None


@pytest.mark.parametrize("libc", ["glibc", "musl"])
def test_sharp_033_platform_packages(libc: str) -> None:
    ans = addon_support("sharp", "0.33.0", "arm64", libc)
    assert ans is not None
    assert ans.install_kind == "platform-packages"
    assert ans.prebuilt is True and not ans.needs_attention


def test_fsevents_is_skipped_on_linux() -> None:
    ans = addon_support("fsevents", "^2.3.2", "arm64", "glibc")
    assert ans is not None
    assert ans.platform_skipped and not ans.needs_attention and ans.prebuilt is None


@pytest.mark.parametrize("name", ["express", "@grpc/grpc-js", "sass-loader", "left-pad"])
def test_pure_packages_have_no_answer(name: str) -> None:
    assert addon_support(name, "latest", "arm64", "glibc") is None


def test_puppeteer_browser_cannot_run_on_arm64() -> None:
    ans = addon_support("puppeteer", "21.0.0", "arm64", "glibc")
    assert ans is not None and ans.unsupported and not ans.builds_from_source
    amd = addon_support("puppeteer", "21.0.0", "amd64", "glibc")
    assert amd is not None and not amd.needs_attention


def test_bcrypt_501_lacks_arm64_but_6_ships_it() -> None:
    old = addon_support("bcrypt", "5.0.1", "arm64", "musl")
    assert old is not None and old.builds_from_source
    new = addon_support("bcrypt", "^6", "arm64", "musl")
    assert new is not None and new.prebuilt is True and new.install_kind == "node-gyp-build"


def test_unknown_version_gives_none() -> None:
    assert addon_support("canvas", "99.0.0", "arm64", "glibc") is None
    assert addon_support("canvas", "github:Automattic/node-canvas", "arm64", "glibc") is None


def test_snapshot_is_small() -> None:
    blob = resources.files("dockerarch.knowledge").joinpath("data/npm_addons.bin")
    assert len(blob.read_bytes()) < 1024 * 1024


def test_the_snapshot_is_what_the_build_script_writes_for_its_records() -> None:
    # Each package's member decodes to a record that the script encodes back to the same
    # bytes: the reader and the writer agree on every field of the shipped data.
    shipped = data.read_bytes(npm.SNAPSHOT_RESOURCE)
    provider = npm.SnapshotProvider(shipped)
    records = {}
    for name in provider.names():
        found = provider.package(name)
        assert found is not None
        records[name] = npm.record_to_json(found)
    assert load_script("build_npm_snapshot").encode(records, provider.generated) == shipped
    assert provider.package("no-such-addon") is None


def test_a_snapshot_question_inflates_only_its_package() -> None:
    provider = npm.SnapshotProvider(data.read_bytes(npm.SNAPSHOT_RESOURCE))
    assert provider.package("sharp") is not None
    assert list(provider._cache) == ["sharp"]
    with pytest.raises(
        ValueError, match=r"npm_addons.bin: unsupported format 1 \(this dockerarch reads 2\)"
    ):
        npm.SnapshotProvider(b'{"format":1}\n')


# --- semver ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "range_", "ok"),
    [
        ("2.11.2", "^2.11.0", True),
        ("3.0.0", "^2.11.0", False),
        ("0.2.5", "^0.2.3", True),
        ("0.3.0", "^0.2.3", False),
        ("0.0.4", "^0.0.3", False),
        ("0.0.3", "^0.0.3", True),
        ("0.9.0", "^0.x", True),
        ("1.2.9", "~1.2", True),
        ("1.3.0", "~1.2", False),
        ("1.2.4", "~1.2.3", True),
        ("1.9.0", "~1", True),
        ("2.5.1", "2.x", True),
        ("3.0.0", "2.x", False),
        ("2.0.0", ">=1 <3", True),
        ("3.0.0", ">=1 <3", False),
        ("1.5.0", "1.2 - 2.3.4", True),
        ("2.3.5", "1.2 - 2.3.4", False),
        ("2.9.9", "1.2.3 - 2", True),
        ("1.2.2", "1.2.3 - 2", False),
        ("5.0.0", "^1 || ^5", True),
        ("4.0.0", "^1 || ^5", False),
        ("1.0.0", "*", True),
        ("1.0.0", "", True),
        ("2.0.0", ">1", True),
        ("1.9.9", ">1", False),
        ("1.2.9", "<=1.2", True),
        ("1.3.0", "<=1.2", False),
        ("1.1.9", "<1.2", True),
        ("1.2.0", "<1.2", False),
        ("1.2.3", "=1.2.3", True),
        ("1.2.3", "v1.2.3", True),
        ("3.0.0-rc.1", "^2.11.0", False),
        ("2.12.0-rc.1", "^2.11.0", False),
        ("2.11.1-beta.3", "^2.11.1-beta.1", True),
        ("2.11.2-beta.1", "^2.11.1-beta.1", False),
        ("1.0.0-alpha", "*", False),
        ("1.2.3", ">= 1.2.0", True),
    ],
)
def test_semver_satisfies(version: str, range_: str, ok: bool) -> None:
    assert satisfies(version, range_) is ok


def test_semver_ordering() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2"]
    order += ["1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1"]
    parsed = [SemVer.parse(v) for v in order]
    versions = [p for p in parsed if p is not None]
    assert len(versions) == len(order)
    assert sorted(reversed(versions)) == versions
    assert [str(v) for v in versions] == order


def test_resolve_version() -> None:
    versions = ["1.0.0", "1.5.0", "2.0.0", "2.1.0", "3.0.0-rc.1"]
    tags = {"latest": "2.0.0", "next": "3.0.0-rc.1"}
    assert resolve_version("^2", versions, tags) == "2.0.0"  # "latest" wins when it fits
    assert resolve_version("^1", versions, tags) == "1.5.0"
    assert resolve_version("latest", versions, tags) == "2.0.0"
    assert resolve_version("next", versions, tags) == "3.0.0-rc.1"
    assert resolve_version("", versions, tags) == "2.0.0"
    assert resolve_version("2.1.0", versions, tags) == "2.1.0"
    assert resolve_version(">=1 <3", versions, {}) == "2.1.0"
    assert resolve_version("^4", versions, tags) is None
    assert resolve_version("file:../x", versions, tags) is None
    assert max_satisfying(versions, "*") == "2.1.0"


# --- summarising metadata -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scripts", "gypfile", "expected"),
    [
        ({"install": "node-pre-gyp install --fallback-to-build"}, None, ("node-pre-gyp", True)),
        ({"install": "prebuild-install || node-gyp rebuild"}, None, ("prebuild-install", True)),
        ({"install": "node-gyp-build"}, None, ("node-gyp-build", True)),
        ({"install": "node-gyp rebuild"}, None, ("node-gyp", False)),
        (
            {"install": "cross-env npm_config_build_from_source=true node-gyp-build"},
            None,
            ("node-gyp", False),
        ),
        ({"postinstall": "node install.js"}, None, ("download", False)),
        ({"test": "jest"}, True, ("node-gyp", False)),
        ({"test": "jest"}, None, ("none", False)),
    ],
)
def test_classify_install(
    scripts: dict[str, str], gypfile: bool | None, expected: tuple[str, bool]
) -> None:
    assert classify_install({"scripts": scripts, "gypfile": gypfile}) == expected


def test_platform_packages_use_their_libc_fields() -> None:
    meta = {
        "version": "1.0.0",
        "optionalDependencies": {"@x/a-linux-arm64": "1.0.0", "@x/a-linux-x64": "1.0.0"},
    }
    pps = {
        "@x/a-linux-arm64": PlatformPackage("@x/a-linux-arm64", ("linux",), ("arm64",), ("glibc",)),
        "@x/a-linux-x64": PlatformPackage("@x/a-linux-x64", ("linux",), ("x64",), ()),
    }
    facts = summarize_version(meta, platform_packages=pps)
    assert facts.kind == "platform-packages" and not facts.fallback_build
    assert facts.prebuilt == {
        "linux-x64-glibc": True,
        "linux-x64-musl": True,  # no libc field: npm installs it on musl too
        "linux-arm64-glibc": True,
        "linux-arm64-musl": False,
    }


def test_platform_package_names() -> None:
    pp = platform_package_from_name("@img/sharp-linuxmusl-arm64")
    assert pp is not None and pp.matches("linux-arm64-musl") and not pp.matches("linux-arm64-glibc")
    pp = platform_package_from_name("canvas-linux-x64-gnu")
    assert pp is not None and pp.matches("linux-x64-glibc") and not pp.matches("linux-x64-musl")
    assert platform_package_from_name("cpu-features") is None


def test_prebuilds_listing() -> None:
    files = [
        "package/prebuilds/linux-arm64/bcrypt.glibc.node",
        "package/prebuilds/linux-x64/bcrypt.musl.node",
        "package/prebuilds/linux-x64/bcrypt.glibc.node",
        "package/prebuilds/darwin-x64+arm64/node.napi.node",
        "package/prebuilds/linuxmusl-arm64.node",
        "package/bin/linux-x64-node-18/deasync.node",
    ]
    assert prebuilds_from_listing(files) == {
        "linux-arm64-glibc": True,
        "linux-x64-musl": True,
        "linux-x64-glibc": True,
        "linux-arm64-musl": True,
    }
    untagged = prebuilds_from_listing(["package/prebuilds/linux-arm64/node.napi.armv8.node"])
    assert untagged == {"linux-arm64-glibc": True, "linux-arm64-musl": None}


def test_node_gyp_build_uses_the_tarball_listing() -> None:
    meta = {"version": "6.0.0", "scripts": {"install": "node-gyp-build"}}
    facts = summarize_version(meta, tarball_files=["package/prebuilds/linux-x64/a.node"])
    assert facts.prebuilt == {
        "linux-x64-glibc": True,
        "linux-arm64-glibc": False,
        "linux-arm64-musl": False,
    }
    assert facts.fallback_build


def test_curated_rules_apply_by_range() -> None:
    rules = parse_curated(
        """
[[demo.rule]]
versions = "<2"
kind = "node-pre-gyp"
prebuilt = ["linux-x64-*"]
missing = ["linux-arm64-glibc"]
reason = "why"
sources = ["https://example.invalid/issue/1"]
"""
    )["demo"]
    notes: list[Note] = []
    old = summarize_version({"version": "1.4.0"}, rules=rules, notes=notes)
    assert old.kind == "node-pre-gyp" and old.fallback_build
    assert old.prebuilt == {
        "linux-x64-glibc": True,
        "linux-x64-musl": True,
        "linux-arm64-glibc": False,
    }
    assert notes[old.notes[0]].sources == ("https://example.invalid/issue/1",)
    new = summarize_version({"version": "2.0.0"}, rules=rules)
    assert new.kind == "none" and not new.prebuilt


def test_curated_rules_need_sources() -> None:
    with pytest.raises(ValueError, match="no sources"):
        parse_curated('[[x.rule]]\nversions = "*"\nreason = "r"\nsources = []\n')
    with pytest.raises(ValueError, match="matches none"):
        parse_curated(
            '[[x.rule]]\nversions = "*"\nreason = "r"\nsources = ["s"]\n'
            'prebuilt = ["linux-mips-*"]\n'
        )


def test_shipped_curated_file_parses() -> None:
    curated = load_curated()
    assert {"canvas", "bcrypt", "puppeteer", "fsevents"} <= set(curated)
    assert all(rule.sources for rules in curated.values() for rule in rules)


def test_platform_key() -> None:
    assert platform_key("x86_64", "gnu") == "linux-x64-glibc"
    assert platform_key("aarch64", "musl") == "linux-arm64-musl"
    keys = {platform_key(a, c) for a in ("amd64", "arm64") for c in ("glibc", "musl")}
    assert keys == set(PLATFORM_KEYS)
    with pytest.raises(ValueError):
        platform_key("arm64", "uclibc")
