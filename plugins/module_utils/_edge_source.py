# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which files make up a Supabase Edge Function, collected like the CLI does, from a tree.

A tree is a project root (the folder holding ``supabase/``) as seen at one source: a folder on disk, a git
commit read with ``git cat-file`` (the user's working tree and index are never touched), or a folder with
one function's folder replaced by a backup copy. Collection is pure over the tree; only the trees do I/O.
Unlike the CLI, which only warns, a missing import or one that leaves the project is refused.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import posixpath
import re
import typing as t
from dataclasses import dataclass, field

try:
    import tomllib  # Python 3.11+, the controller's Python for this collection
except ImportError:  # pragma: no cover - older Pythons
    tomllib = None  # type: ignore[assignment]

SUPABASE_DIR = "supabase"
FUNCTIONS_DIR = "supabase/functions"
SCRIPT_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".mts", ".cjs")
IMPORT_MAP_CANDIDATES = ("deno.json", "deno.jsonc", "import_map.json")
# import x from "…", export … from "…", import "…", import("…")
IMPORT_RE = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\1""")
DEFAULT_VERSION_PATTERN = r"""VERSION\s*=\s*["']([^"']+)["']"""


class SourceError(ValueError):
    """The function's source cannot be deployed safely; the message names the path and what to do."""


class Tree(t.Protocol):
    label: str

    def read(self, path: str) -> bytes | None: ...

    def paths(self) -> list[str]: ...


def clean_path(path: str) -> str:
    """A project-relative POSIX path, or SourceError when it leaves the project."""
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm.startswith("../") or norm == ".." or norm.startswith("/"):
        raise SourceError("path %r leaves the project" % path)
    return norm


class DirTree:
    """A project root on disk."""

    def __init__(self, root: str, label: str | None = None) -> None:
        self.root = os.path.realpath(root)
        self.label = label or "folder %s" % root

    def read(self, path: str) -> bytes | None:
        full = os.path.realpath(os.path.join(self.root, path))
        if not (full == self.root or full.startswith(self.root + os.sep)) or not os.path.isfile(full):
            return None  # a symlink out of the project counts as missing
        with open(full, "rb") as fh:
            return fh.read()

    def paths(self) -> list[str]:
        out = []
        for base, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in files:
                out.append(os.path.relpath(os.path.join(base, name), self.root).replace(os.sep, "/"))
        return sorted(out)


class GitTree:
    """A project root as it is in one commit, read with git without touching the checkout or the index.

    ``prefix`` is the project root's path inside the repository ("" at the top, else ending in "/").
    """

    def __init__(self, repo: str, ref: str, run: t.Callable[[list[str]], tuple[int, bytes, bytes]], prefix: str = "") -> None:
        self.repo, self.ref, self.run, self.prefix = repo, ref, run, prefix
        self.label = "git %s" % ref
        if not ref or ref.startswith("-"):
            raise SourceError("git ref %r is not a commit, tag or branch name" % ref)
        rc, out, _err = run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"])
        if rc != 0:
            raise SourceError("git ref %r does not exist in %s; `git log --oneline -- supabase/functions/<name>` lists "
                              "the candidates" % (ref, repo))
        self.commit = out.decode().strip()
        self.label = "git %s" % self.commit[:12] if self.commit.startswith(ref) else "git %s (%s)" % (ref, self.commit[:12])
        argv = ["git", "-C", repo, "ls-tree", "-r", "-z", self.commit]
        rc, out, err = run(argv + (["--", prefix] if prefix else []))
        if rc != 0:
            raise SourceError("cannot list commit %s in %s: %s" % (ref, repo, err.decode(errors="replace").strip()))
        self._modes: dict[str, str] = {}
        for record in out.decode("utf-8", "replace").split("\0"):
            meta, _tab, path = record.partition("\t")
            if path.startswith(prefix) and meta:
                self._modes[path[len(prefix):]] = meta.split(" ", 1)[0]
        self._paths = sorted(self._modes)
        self._known = set(self._paths)

    def read(self, path: str) -> bytes | None:
        if path not in self._known:
            return None
        if self._modes[path] == "120000":  # git stores a symlink's target path as its content
            raise SourceError("%s is a symbolic link in commit %s; the upload would carry the link's path instead of "
                              "code. Commit the file itself" % (path, self.commit[:12]))
        if self._modes[path] == "160000":
            raise SourceError("%s is a git submodule in commit %s; its files are not in this repository"
                              % (path, self.commit[:12]))
        rc, out, _err = self.run(["git", "-C", self.repo, "cat-file", "blob", "%s:%s%s" % (self.commit, self.prefix, path)])
        return out if rc == 0 else None

    def paths(self) -> list[str]:
        return list(self._paths)


class OverlayTree:
    """A base tree with one folder served from another tree (a backup copy of a function)."""

    def __init__(self, base: Tree, mount: str, tree: Tree) -> None:
        self.base, self.mount, self.tree = base, mount.rstrip("/"), tree
        self.label = "%s with %s from %s" % (base.label, self.mount, tree.label)

    def read(self, path: str) -> bytes | None:
        if path.startswith(self.mount + "/"):
            return self.tree.read(path[len(self.mount) + 1:])
        return self.base.read(path)

    def paths(self) -> list[str]:
        own = [p for p in self.base.paths() if not p.startswith(self.mount + "/")]
        return sorted(own + [self.mount + "/" + p for p in self.tree.paths()])


@dataclass
class FunctionSource:
    slug: str
    origin: str
    files: dict[str, bytes]  # project-relative path -> content, in upload order
    entrypoint_path: str
    import_map_path: str  # "" when none (what the CLI sends)
    static_patterns: list[str] = field(default_factory=list)
    config_verify_jwt: bool | None = None  # from config.toml; None when it says nothing

    def fingerprint(self) -> list[tuple[str, str]]:
        return sorted((path, hashlib.sha256(content).hexdigest()) for path, content in self.files.items())

    def summary(self) -> list[dict[str, t.Any]]:
        return [{"path": p, "sha256": hashlib.sha256(c).hexdigest(), "bytes": len(c)} for p, c in self.files.items()]

    def version(self, pattern: str = DEFAULT_VERSION_PATTERN) -> str | None:
        """The release named in the source (e.g. ``export const VERSION = "v1.4.2"``), entrypoint's folder first."""
        rx = re.compile(pattern)
        folder = posixpath.dirname(self.entrypoint_path) + "/"
        ordered = sorted(self.files, key=lambda p: (not p.startswith(folder), p))
        for path in ordered:
            found = rx.search(self.files[path].decode("utf-8", "replace"))
            if found:
                return found.group(1) if found.groups() else found.group(0)
        return None


def strip_js_comments(text: str) -> str:
    """Script text with // and /* */ comments blanked (strings and template literals kept), so a commented-out
    import is not followed."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch and not (ch != "`" and text[j] == "\n"):
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (deno.jsonc) as plain JSON; strings are left alone."""
    return re.sub(r",(\s*[}\]])", r"\1", strip_js_comments(text))


def function_config(tree: Tree, slug: str) -> dict[str, t.Any]:
    """The ``[functions.<slug>]`` table of ``supabase/config.toml`` at this source ({} when absent)."""
    raw = tree.read(SUPABASE_DIR + "/config.toml")
    if raw is None:
        return {}
    if tomllib is None:
        raise SourceError("reading supabase/config.toml needs Python 3.11 or later on the controller")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError("supabase/config.toml at %s is not valid TOML: %s" % (tree.label, exc))
    functions = data.get("functions") or {}
    if not isinstance(functions, dict):
        raise SourceError("supabase/config.toml at %s: [functions] must be a table of functions" % tree.label)
    section = functions.get(slug) or {}
    if not isinstance(section, dict):
        raise SourceError("supabase/config.toml at %s: functions.%s must be a table ([functions.%s])" % (tree.label, slug, slug))
    for key in ("verify_jwt", "enabled"):
        if key in section and not isinstance(section[key], bool):
            raise SourceError("supabase/config.toml at %s: functions.%s.%s must be true or false, got %r"
                              % (tree.label, slug, key, section[key]))
    for key in ("entrypoint", "import_map"):
        if key in section and not isinstance(section[key], str):
            raise SourceError("supabase/config.toml at %s: functions.%s.%s must be a path string" % (tree.label, slug, key))
    static = section.get("static_files")
    if static is not None and not (isinstance(static, list) and all(isinstance(x, str) for x in static)):
        raise SourceError("supabase/config.toml at %s: functions.%s.static_files must be a list of glob strings"
                          % (tree.label, slug))
    return section


def _from_supabase_dir(value: str, what: str) -> str:
    """config.toml paths are relative to the supabase/ folder."""
    try:
        return clean_path(posixpath.join(SUPABASE_DIR, value))
    except SourceError:
        raise SourceError("%s %r in supabase/config.toml leaves the project" % (what, value))


def _import_map(tree: Tree, path: str) -> dict[str, str]:
    raw = tree.read(path)
    if raw is None:
        raise SourceError("import map %s does not exist at %s" % (path, tree.label))
    try:
        data = json.loads(strip_jsonc(raw.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError("import map %s at %s is not valid JSON: %s" % (path, tree.label, exc))
    imports = data.get("imports") if isinstance(data, dict) else None
    if imports is not None and not isinstance(imports, dict):
        raise SourceError("import map %s at %s: \"imports\" must be an object of specifier to path" % (path, tree.label))
    return {k: v for k, v in (imports or {}).items() if isinstance(k, str) and isinstance(v, str)}


def _resolve(specifier: str, importer: str, import_map: dict[str, str], map_dir: str) -> str | None:
    """The project-relative file an import names, or None for remote/npm/jsr imports."""
    target, base = specifier, posixpath.dirname(importer)
    if not specifier.startswith(("./", "../", "/")):
        mapped = None
        if specifier in import_map:
            mapped = import_map[specifier]
        else:
            for key, value in import_map.items():
                if key.endswith("/") and specifier.startswith(key):
                    mapped = value + specifier[len(key):]
                    break
        if mapped is None or not mapped.startswith(("./", "../")):
            return None
        target, base = mapped, map_dir
    if target.startswith("/"):
        raise SourceError("import %r in %s is an absolute path; use a path relative to the file" % (specifier, importer))
    try:
        return clean_path(posixpath.join(base, target))
    except SourceError:
        raise SourceError("import %r in %s leaves the project (resolves outside the folder holding supabase/); "
                          "the CLI would deploy without it. Move the file into the project or fix the import"
                          % (specifier, importer))


def collect_function(tree: Tree, slug: str, import_map_override: str | None = None) -> FunctionSource:
    """Every file the function needs at this source, or SourceError naming what is wrong."""
    config = function_config(tree, slug)
    if config.get("enabled") is False:
        raise SourceError("function %s is disabled in supabase/config.toml at %s" % (slug, tree.label))
    if config.get("entrypoint"):
        entry = _from_supabase_dir(str(config["entrypoint"]), "entrypoint")
    else:
        entry = "%s/%s/index.ts" % (FUNCTIONS_DIR, slug)
    if tree.read(entry) is None:
        raise SourceError("entrypoint %s of function %s does not exist at %s; give the folder that holds it "
                          "(for example a backup copy) or the commit that has it" % (entry, slug, tree.label))
    function_dir = posixpath.dirname(entry)

    # Import map precedence, as the CLI: explicit, config.toml, the function's own files, the shared one.
    if import_map_override:
        import_map_path = clean_path(import_map_override)
    elif config.get("import_map"):
        import_map_path = _from_supabase_dir(str(config["import_map"]), "import_map")
    else:
        import_map_path = ""
        for candidate in ["%s/%s" % (function_dir, c) for c in IMPORT_MAP_CANDIDATES] + [FUNCTIONS_DIR + "/import_map.json"]:
            if tree.read(candidate) is not None:
                import_map_path = candidate
                break
    import_map = _import_map(tree, import_map_path) if import_map_path else {}
    map_dir = posixpath.dirname(import_map_path) if import_map_path else ""

    files: dict[str, bytes] = {}
    if import_map_path:
        files[import_map_path] = tree.read(import_map_path) or b""
    pending = [entry]
    while pending:
        path = pending.pop(0)
        if path in files:
            continue
        content = tree.read(path)
        if content is None:
            raise SourceError("file %s does not exist at %s" % (path, tree.label))
        files[path] = content
        if not path.endswith(SCRIPT_SUFFIXES):
            continue
        for match in IMPORT_RE.finditer(strip_js_comments(content.decode("utf-8", "replace"))):
            resolved = _resolve(match.group(2), path, import_map, map_dir)
            if resolved is None or resolved in files:
                continue
            if tree.read(resolved) is None:
                raise SourceError("import %r in %s names %s, which does not exist at %s; the CLI would deploy an "
                                  "incomplete bundle" % (match.group(2), path, resolved, tree.label))
            pending.append(resolved)

    patterns = config.get("static_files") or []
    static_patterns = [_from_supabase_dir(str(p), "static_files pattern") for p in patterns]
    if static_patterns:
        all_paths = tree.paths()
        for pattern in static_patterns:
            matched = [p for p in all_paths if fnmatch.fnmatchcase(p, pattern)]
            if not matched:
                raise SourceError("static_files pattern %s of function %s matches no file at %s" % (pattern, slug, tree.label))
            for path in matched:
                content = tree.read(path)
                if content is None:
                    raise SourceError("static file %s of function %s cannot be read at %s (a link out of the project?)"
                                      % (path, slug, tree.label))
                files.setdefault(path, content)
    verify_jwt = config.get("verify_jwt")
    return FunctionSource(slug=slug, origin=tree.label, files=files, entrypoint_path=entry, import_map_path=import_map_path,
                          static_patterns=static_patterns,
                          config_verify_jwt=verify_jwt if isinstance(verify_jwt, bool) else None)


def normalise_remote_name(name: str) -> str:
    """A file name as the API gives it back (``/tmp/user_fn_x/source/supabase/...``) as a project path."""
    name = name[len("file://"):] if name.startswith("file://") else name
    if "/source/" in name:
        name = name.rsplit("/source/", 1)[1]
    return name.lstrip("/")


def remote_fingerprint(files: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    return sorted((normalise_remote_name(n), hashlib.sha256(c).hexdigest()) for n, c in files)


def desired_verify_jwt(explicit: bool | None, source: FunctionSource, remote: dict | None) -> tuple[bool, str]:
    """verify_jwt to send, and why: never left to the server's default of true for a function that had false."""
    if explicit is not None:
        return explicit, "given"
    if source.config_verify_jwt is not None:
        return source.config_verify_jwt, "config.toml at %s" % source.origin
    if remote is not None and isinstance(remote.get("verify_jwt"), bool):
        return remote["verify_jwt"], "kept from the deployed function"
    return True, "default for a new function"


def open_git_project(project_dir: str, ref: str, run: t.Callable[[list[str]], tuple[int, bytes, bytes]]) -> GitTree:
    """The project at ``project_dir`` (inside a git repository) as it is in commit ``ref``."""
    rc, out, err = run(["git", "-C", project_dir, "rev-parse", "--show-toplevel", "--show-prefix"])
    if rc != 0:
        raise SourceError("project_dir %s is not inside a git repository: %s" % (project_dir, err.decode(errors="replace").strip()))
    lines = out.decode().splitlines() + ["", ""]
    return GitTree(lines[0].strip(), ref, run, prefix=lines[1].strip())


def function_paths(slug: str) -> list[str]:
    """The folders whose history is the function's history: its own and the shared code it imports."""
    return ["%s/%s" % (FUNCTIONS_DIR, slug), FUNCTIONS_DIR + "/_shared"]


LOG_FORMAT = "%H%x1f%h%x1f%aI%x1f%an%x1f%s%x1e"


def git_history(tree: GitTree, slug: str, depth: int) -> list[dict[str, str]]:
    """The runbook's ``git log --oneline supabase/functions/<name>/``, up to ``tree``'s commit, newest first."""
    paths = [tree.prefix + p for p in function_paths(slug)]
    rc, out, err = tree.run(["git", "-C", tree.repo, "log", "-n", str(depth), "--format=" + LOG_FORMAT, tree.commit, "--", *paths])
    if rc != 0:
        raise SourceError("git log failed in %s: %s" % (tree.repo, err.decode(errors="replace").strip()))
    commits = []
    for record in out.decode("utf-8", "replace").split("\x1e"):
        fields = record.strip().split("\x1f")
        if len(fields) == 5:
            commits.append(dict(zip(("commit", "short", "date", "author", "subject"), fields)))
    return commits


def commit_before(tree: GitTree, slug: str) -> dict[str, str]:
    """The newest commit before ``tree``'s (the bad one) that changed the function: the previous good version."""
    try:
        parent = GitTree(tree.repo, tree.commit + "^", tree.run, tree.prefix)
    except SourceError:  # the bad commit is the first one
        parent = None
    found = git_history(parent, slug, 1) if parent else []
    if not found:
        raise SourceError("no commit before %s changes %s: give the known-good commit explicitly"
                          % (tree.commit[:12], " or ".join(function_paths(slug))))
    return found[0]
