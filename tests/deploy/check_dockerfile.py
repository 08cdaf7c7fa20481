#!/usr/bin/env python3
"""Static checks of the repository's Dockerfile (no container engine is needed or used).

Usage: check_dockerfile.py DOCKERFILE INSTALL_DEPS_SH [BINARY...]

- multi-stage, every stage on Debian bookworm (the distribution the build and tests use);
- the build stage installs every build package of scripts/install-deps.sh;
- the runtime stage installs the runtime package of every library -dev package there, and no
  compilers or -dev packages; with BINARY arguments, every shared library they load (ldd) must come
  from a package the runtime stage installs or one of their dependencies (dpkg, this machine);
- the final stage runs as a numeric non-root USER, fits a read-only root file system (/tmp is a
  VOLUME, nothing world-writable), and starts zarc with an exec-form ENTRYPOINT; a default
  `zarc run` CMD names its listen address (the one-machine mode binds loopback otherwise).
"""
import json
import os
import re
import subprocess
import sys

# Runtime package(s) of each library -dev package in install-deps.sh (bookworm names).
RUNTIME_OF = {
    "libgrpc++-dev": ["libgrpc++1.51"],
    "libprotobuf-dev": ["libprotobuf32"],
    "libabsl-dev": ["libabsl20220623"],
    "libcurl4-openssl-dev": ["libcurl4"],
    "librdkafka-dev": ["librdkafka1"],
    "prometheus-cpp-dev": ["libprometheus-cpp-core1.0", "libprometheus-cpp-pull1.0"],
    "libssl-dev": ["libssl3"],
    "zlib1g-dev": ["zlib1g"],
    # Needed to build only: test frameworks, header-only Boost (Beast, Asio) and nlohmann-json.
    "libgtest-dev": [], "libgmock-dev": [], "libbenchmark-dev": [], "libboost-dev": [],
    "nlohmann-json3-dev": [],
}
BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "pkg-config", "protobuf-compiler",
               "protobuf-compiler-grpc", "googletest"}
# install-deps.sh packages for developing and testing, not for building the binary.
NOT_FOR_IMAGE = {"ccache", "git", "curl", "ca-certificates", "unzip", "python3", "dovecot-imapd",
                 "prometheus", "python3-yaml", "python3-jsonschema", "nodejs", "npm",
                 "chromium"}


def stages(dockerfile):
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            result.append({"from": rest.split()[0], "name": rest.split()[-1] if " AS " in rest.upper() else "",
                           "lines": []})
        elif result:
            result[-1]["lines"].append((instr, rest.strip()))
    return result


def apt_installs(stage):
    pkgs = set()
    for instr, rest in stage["lines"]:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                pkgs.update(w for w in words[words.index("install") + 1:] if not w.startswith("-"))
    return pkgs


def install_deps_packages(path):
    text = open(path).read()
    m = re.search(r"apt_packages=\((.*?)\)", text, re.S)
    if not m:
        raise SystemExit(f"{path}: no apt_packages=( ... ) list found")
    pkgs = set(re.sub(r"#.*", "", m.group(1)).split())
    pkgs.update(" ".join(re.findall(r"apt_packages\+=\(([^)]*)\)", text)).split())
    return pkgs


def installed_packages():
    """Every installed package with what it depends on, from one dpkg-query over the status file."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Depends}, ${Pre-Depends}\t${Provides}\n"],
                         capture_output=True, text=True, check=True).stdout
    depends, providers = {}, {}
    for line in out.splitlines():
        name, deps, provides = (line.split("\t") + ["", ""])[:3]
        depends[name] = {dep.strip().split(" ")[0].split(":")[0]
                         for alt in deps.split(",") for dep in alt.split("|") if dep.strip()}
        for virtual in provides.split(","):
            if virtual.strip():
                providers.setdefault(virtual.strip().split(" ")[0], set()).add(name)
    return depends, providers


def dependency_closure(roots):
    depends, providers = installed_packages()
    seen, todo = set(), list(roots)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        todo.extend(depends.get(pkg, ()))
        todo.extend(providers.get(pkg, ()))
    return seen


def library_candidates(lib):
    # ldd may name a library by a symlink or by /lib where dpkg recorded /usr/lib (or the reverse).
    real = os.path.realpath(lib)
    return list(dict.fromkeys([lib, real, lib.replace("/usr/lib/", "/lib/", 1), lib.replace("/lib/", "/usr/lib/", 1),
                               real.replace("/usr/lib/", "/lib/", 1), real.replace("/lib/", "/usr/lib/", 1)]))


def dpkg_owners(paths):
    """The owning package of each path, from a single `dpkg -S` (each call reads every file list)."""
    if not paths:
        return {}
    # dpkg -S exits 1 when some path has no owner; the owners of the others are still printed.
    out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
    owners = {}
    for line in out.splitlines():
        if line.startswith("diversion "):
            continue
        pkgs, sep, path = line.partition(": ")
        if sep:
            owners.setdefault(path.strip(), pkgs.split(",")[0].strip().split(":")[0])
    return owners


def shared_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [m.group(1) for m in (re.search(r"=>\s*(\S+)", line) for line in out.splitlines())
            if m and m.group(1).startswith("/")]


def packages_of_binaries(binaries):
    """{binary: {library: owning package or None}}, with one dpkg call for every library of every binary."""
    libs = {binary: shared_libraries(binary) for binary in binaries}
    candidates = {lib: library_candidates(lib) for libs_of in libs.values() for lib in libs_of}
    owners = dpkg_owners(sorted({c for cs in candidates.values() for c in cs}))
    return {binary: {lib: next((owners[c] for c in candidates[lib] if c in owners), None) for lib in libs_of}
            for binary, libs_of in libs.items()}


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    dockerfile, install_deps, binaries = argv[1], argv[2], argv[3:]
    problems = []
    st = stages(dockerfile)
    if len(st) < 2:
        problems.append(f"not multi-stage: {len(st)} FROM")
    for s in st:
        if not re.fullmatch(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?", s["from"]):
            problems.append(f"stage FROM {s['from']}: use debian:bookworm or debian:bookworm-slim")
    build, final = st[0], st[-1]

    deps = install_deps_packages(install_deps)
    unknown = sorted(p for p in deps if p not in RUNTIME_OF and p not in BUILD_TOOLS and p not in NOT_FOR_IMAGE)
    for p in unknown:
        problems.append(f"install-deps.sh package {p} is not classified here: add it to RUNTIME_OF "
                        f"(a library: which runtime package the image needs), BUILD_TOOLS or NOT_FOR_IMAGE")
    build_pkgs, final_pkgs = apt_installs(build), apt_installs(final)
    for p in sorted(deps & (set(RUNTIME_OF) | BUILD_TOOLS)):
        if p not in build_pkgs:
            problems.append(f"build stage does not install {p} (install-deps.sh does)")
    for dev in sorted(deps & set(RUNTIME_OF)):
        for rt in RUNTIME_OF[dev]:
            if rt not in final_pkgs:
                problems.append(f"runtime stage does not install {rt} (runtime of {dev})")
    for p in sorted(final_pkgs):
        if p.endswith("-dev") or p in BUILD_TOOLS:
            problems.append(f"runtime stage installs build package {p}")
    if "ca-certificates" not in final_pkgs:
        problems.append("runtime stage lacks ca-certificates (TLS to Zoom, Graph, Azure)")

    users = [rest for instr, rest in final["lines"] if instr == "USER"]
    if not users:
        problems.append("final stage has no USER: it would run as root")
    else:
        uid = users[-1].split(":")[0]
        if not uid.isdigit() or int(uid) == 0:
            problems.append(f"final USER {users[-1]}: use a numeric non-zero UID (runAsNonRoot can verify it)")
    volumes = " ".join(rest for instr, rest in final["lines"] if instr == "VOLUME")
    if "/tmp" not in volumes:
        problems.append("final stage does not declare /tmp as a VOLUME (read-only root file system)")
    for instr, rest in final["lines"]:
        if re.search(r"chmod\s+(-R\s+)?0?777|chmod\s+[ao]\+w", rest):
            problems.append(f"world-writable path in final stage: {instr} {rest}")
        if instr == "ADD" and re.search(r"https?://", rest):
            problems.append(f"ADD from a URL: {rest}")
    if not any(instr == "COPY" and "--from=" in rest for instr, rest in final["lines"]):
        problems.append("final stage copies nothing from the build stage")
    entry = [rest for instr, rest in final["lines"] if instr == "ENTRYPOINT"]
    try:
        entry_cmd = json.loads(entry[-1]) if entry else None
    except json.JSONDecodeError:
        entry_cmd = None
    if not entry_cmd or not entry_cmd[0].endswith("/zarc"):
        problems.append("ENTRYPOINT must be the exec form [\"/usr/local/bin/zarc\"] (signals reach zarc)")

    # `zarc run` listens on loopback unless told otherwise: a container's default command must
    # say the address, or nothing outside the container reaches its gRPC and metrics ports.
    cmd = [rest for instr, rest in final["lines"] if instr == "CMD"]
    try:
        default_cmd = json.loads(cmd[-1]) if cmd else []
    except json.JSONDecodeError:
        default_cmd = []
    if default_cmd[:1] == ["run"] and not any(a.startswith("--listen.address=") for a in default_cmd):
        problems.append("CMD runs `zarc run` without --listen.address: it binds 127.0.0.1 by default, "
                        "unreachable from outside the container")

    if binaries:
        allowed = dependency_closure(final_pkgs | {"libc6", "libgcc-s1", "libstdc++6"})
        for binary, owners in packages_of_binaries(binaries).items():
            for lib, owner in sorted(owners.items()):
                if owner is None:
                    problems.append(f"{binary}: {lib} belongs to no Debian package")
                elif owner not in allowed:
                    problems.append(f"{binary} loads {lib} from {owner}, which the runtime stage does not install")
            print(f"checked the shared libraries of {binary}")

    for p in problems:
        print("FAIL " + p)
    print(f"check_dockerfile: {len(st)} stages, {len(final_pkgs)} runtime packages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
