"""Well-known secret files, which the built-in read tools do not read without the user's approval.

A path is a secret when its real path (or the path as asked, before links) matches one of:

==============================================  ==========================================
pattern                                         what it holds
==============================================  ==========================================
``~/.ssh/*``                                    SSH keys, known hosts, agent config
``~/.gnupg/*``                                  GnuPG keyrings
``id_rsa``, ``id_dsa``, ``id_ecdsa``,           SSH private keys anywhere (``.pub`` is not
``id_ed25519`` (and ``*_sk``), anywhere          a secret)
``*.pem``, ``*.key``, ``*.p12``, ``*.pfx``      TLS / private keys anywhere
``.env``, ``.env.*``                            dotenv files (``.env.example``, ``.sample``,
                                                ``.template``, ``.dist`` are not secrets)
``.netrc``, ``.pgpass``, ``.git-credentials``   credential stores
``.aws/credentials``, ``.aws/config``           AWS keys
``~/.config/gh/hosts.yml``                      GitHub CLI token
``.npmrc``, ``.pypirc``                         package registry tokens
``.kube/config``, ``$KUBECONFIG``               Kubernetes credentials
``.docker/config.json``                         registry credentials
a2ia's config dir, its history database         settings (API keys) and every past chat
==============================================  ==========================================

The patterns without ``~`` match anywhere (a checked-in ``.env`` in a project is still a secret).
:func:`secret_reason` answers why a path is a secret, or None.

Where it is enforced: the built-in server refuses to read a secret (``read_file``) and skips
secret files' contents (``search_files``) unless the call carries ``include_secrets: true``; the
approval policy (:mod:`.approval`) asks the user before any call that reads a secret or sets
``include_secrets``, and the orchestrator adds the flag once the user approved. Both sides check
the real path, so a link inside the workspace pointing at a secret is a secret.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Tools of the built-in server that read file contents, and the argument naming the path.
READ_TOOLS = {"read_file": "path", "search_files": "path"}
#: The argument that asks for secret files' contents (the call then needs approval).
INCLUDE_SECRETS = "include_secrets"

_KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk")
_KEY_SUFFIXES = ("*.pem", "*.key", "*.p12", "*.pfx")
_CRED_NAMES = {
    ".netrc": "a .netrc credential store",
    ".pgpass": "a PostgreSQL password file",
    ".git-credentials": "a git credential store",
    ".npmrc": "an npm token file",
    ".pypirc": "a PyPI token file",
    "_netrc": "a .netrc credential store",
}
_NOT_SECRET_ENV = (".example", ".sample", ".template", ".dist")
_IN_DIR = {
    (".aws", "credentials"): "AWS credentials",
    (".aws", "config"): "AWS configuration",
    (".kube", "config"): "a Kubernetes config",
    (".docker", "config.json"): "a Docker registry config",
    ("gh", "hosts.yml"): "the GitHub CLI token",
}


class SecretRules:
    """The patterns above, bound to one home directory and one a2ia installation."""

    def __init__(self, home: Path, own: Iterable[Path] = (), own_dirs: Iterable[Path] = ()) -> None:
        self.home = Path(os.path.realpath(home))
        self.home_dirs = {self.home / ".ssh": "the SSH directory", self.home / ".gnupg": "the GnuPG directory"}
        self.own_files = {Path(os.path.realpath(p)) for p in own}
        self.own_dirs = {Path(os.path.realpath(p)) for p in own_dirs}

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, history_db: Path | None = None, config_file: Path | None = None
    ) -> SecretRules:
        """Rules for this user: ``$HOME``, a2ia's default paths, and a configured history
        database or settings file that lies elsewhere."""
        from ..config import default_paths

        env = os.environ if env is None else env
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        paths = default_paths(env)
        own = [paths.history_db] + [Path(p).expanduser() for p in (history_db, config_file) if p is not None]
        if env.get("KUBECONFIG"):
            own += [Path(p) for p in env["KUBECONFIG"].split(os.pathsep) if p]
        if env.get("A2IA_CONFIG"):
            own.append(Path(env["A2IA_CONFIG"]))
        return cls(home, own, [paths.config_file.parent])

    def reason(self, path: str | os.PathLike[str]) -> str | None:
        """Why ``path`` (absolute) is a secret, or None. Checks the path as given and its real path."""
        given = Path(os.path.abspath(path))
        for p in dict.fromkeys((given, Path(os.path.realpath(given)))):
            why = self._match(p)
            if why:
                return why
        return None

    def _match(self, p: Path) -> str | None:
        chain = (p, *p.parents)
        for d, what in self.home_dirs.items():
            if d in chain:
                return f"{what} ({d})"
        bare = p.with_name(p.name.removesuffix("-wal").removesuffix("-shm").removesuffix("-journal"))
        if p in self.own_files or bare in self.own_files:
            return "a2ia's own history or settings"
        if any(d in chain for d in self.own_dirs):
            return "a2ia's own configuration"
        name = p.name
        if name in _KEY_NAMES:
            return "a private key"
        if any(fnmatch.fnmatchcase(name.lower(), pat) for pat in _KEY_SUFFIXES):
            return "a key or certificate file"
        if name == ".env" or (name.startswith(".env.") and not name.endswith(_NOT_SECRET_ENV)):
            return "a .env file"
        if name in _CRED_NAMES:
            return _CRED_NAMES[name]
        parent = p.parent.name
        if (parent, name) in _IN_DIR:
            return _IN_DIR[(parent, name)]
        return None


def secret_reason(
    tool: str, arguments: Mapping[str, Any], root: str | os.PathLike[str], rules: SecretRules
) -> str | None:
    """Why a built-in tool call reads a secret (so needs approval), or None.

    ``include_secrets`` set by the model makes any read tool ask; ``read_file`` of a path that is a
    secret (as asked, or through links) asks. This is the client's early look: the server checks
    again on the path it actually opens, so a link swapped after this check is still refused.
    """
    if tool not in READ_TOOLS:
        return None
    if arguments.get(INCLUDE_SECRETS) not in (None, False):  # any value the server could take as true
        return "asks to include secret files"
    if tool != "read_file":
        return None
    raw = arguments.get(READ_TOOLS[tool])
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        return None
    try:
        raw = os.path.expanduser(raw) if raw.startswith("~") else raw
        path = raw if os.path.isabs(raw) else os.path.join(root, raw)
        why = rules.reason(path)
    except (ValueError, OSError):
        return None  # not a path the server can open either (it answers with the error)
    return f"reads a secret file: {why}" if why else None
