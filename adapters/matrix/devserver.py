"""A throwaway local Synapse homeserver for `maillage demo` and the end-to-end tests.

`DevHomeserver` generates a Synapse configuration in a data directory, rewrites
it for local use (loopback only, no TLS, no federation, SQLite, relaxed rate
limits, quiet logs), runs Synapse as a subprocess in its own process group and
registers users through the shared-secret admin API.

Synapse runs as a child process of the same interpreter (`sys.executable`);
this module does not import it at module level, so it loads without Synapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import importlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp

log = logging.getLogger(__name__)

CONFIG_FILE = "homeserver.yaml"
LOG_CONFIG_FILE = "log.config"
LOG_FILE = "homeserver.log"
CONSOLE_FILE = "console.log"
DATABASE_FILE = "homeserver.db"

START_TIMEOUT = 60.0
POLL_INTERVAL = 0.05
STOP_TIMEOUT = 10.0

_RELAXED: dict[str, float] = {"per_second": 10000, "burst_count": 100000}
_FLAT_RATE_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_admin_redaction",
    "rc_joins_per_room",
    "rc_room_creation",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
_NESTED_RATE_LIMITS: dict[str, tuple[str, ...]] = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}


class HomeserverError(RuntimeError):
    """The homeserver failed to start, or refused a request."""


@dataclass(frozen=True, slots=True)
class RegisteredUser:
    """A user account on the homeserver, logged in on one device."""

    user_id: str
    password: str
    access_token: str
    device_id: str


@functools.cache
def synapse_available() -> str | None:
    """Return why Synapse cannot run here, or None when it can."""
    try:
        importlib.import_module("synapse")
        importlib.import_module("yaml")
    except ImportError as exc:
        return (
            f"matrix-synapse cannot be imported ({exc}); "
            "install it with the 'demo' extra: pip install 'maillage[demo]'"
        )
    except Exception as exc:  # a broken install fails in many ways
        return f"matrix-synapse is installed but broken: {exc!r}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _registration_mac(secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha1)
    mac.update(nonce.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(user.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(password.encode("utf-8"))
    mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    return mac.hexdigest()


class DevHomeserver:
    """A local Synapse for demos and tests; use as `async with DevHomeserver() as hs:`."""

    def __init__(
        self,
        data_dir: Path | None = None,
        server_name: str = "localhost",
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        """`overrides` are extra homeserver.yaml settings applied last (tests use them to
        tighten a rate limit)."""
        self._owns_dir = data_dir is None
        self._extra: dict[str, Any] = dict(overrides or {})
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="maillage-synapse-"))
        self.data_dir: Path = data_dir.resolve()
        self.server_name: str = server_name
        self._port: int | None = None
        self._secret: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self.start_seconds: float | None = None

    # -- properties -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise HomeserverError("the homeserver has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / CONFIG_FILE

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Configure (first time) and start Synapse; return once it answers requests."""
        if self.running:
            return
        reason = synapse_available()
        if reason is not None:
            raise HomeserverError(reason)
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self._write_config()
        console = (self.data_dir / CONSOLE_FILE).open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
                cwd=self.data_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=console,
                stderr=console,
                start_new_session=True,
            )
        finally:
            console.close()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        try:
            await self._wait_ready(began + START_TIMEOUT)
        except BaseException:
            await self._stop_process()
            raise
        self.start_seconds = time.monotonic() - began
        log.info("Synapse ready at %s in %.2f s", self.base_url, self.start_seconds)

    async def stop(self) -> None:
        """Stop Synapse and delete the data directory if this object created it."""
        await self._stop_process()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._owns_dir:
            await asyncio.to_thread(shutil.rmtree, self.data_dir, True)

    async def restart(self) -> None:
        """Stop Synapse and start it again on the same port with the same data."""
        await self._stop_process()
        await self.start()

    async def crash(self) -> None:
        """Kill Synapse with SIGKILL (an outage, not a shutdown); `start()` brings it back."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        self._signal(process.pid, signal.SIGKILL)
        await process.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- users ----------------------------------------------------------------------------

    async def register(self, user: str, password: str, admin: bool = False) -> RegisteredUser:
        """Create `user` (a localpart) and log it in; log in only if it already exists."""
        if self._secret is None:
            raise HomeserverError("the homeserver has not been started")
        url = f"{self.base_url}/_synapse/admin/v1/register"
        status, body = await self._request("GET", url)
        if status != 200:
            raise HomeserverError(f"cannot get a registration nonce: {status} {body}")
        nonce = str(body["nonce"])
        payload = {
            "nonce": nonce,
            "username": user,
            "displayname": user,
            "password": password,
            "admin": admin,
            "mac": _registration_mac(self._secret, nonce, user, password, admin),
        }
        status, body = await self._request("POST", url, payload)
        if status == 200:
            return RegisteredUser(
                user_id=str(body["user_id"]),
                password=password,
                access_token=str(body["access_token"]),
                device_id=str(body["device_id"]),
            )
        if body.get("errcode") == "M_USER_IN_USE":
            return await self.login(user, password)
        raise HomeserverError(f"cannot register {user!r}: {status} {body}")

    async def login(self, user: str, password: str) -> RegisteredUser:
        """Log `user` (localpart or full id) in with its password, on a new device."""
        status, body = await self._request(
            "POST",
            f"{self.base_url}/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user},
                "password": password,
            },
        )
        if status != 200:
            raise HomeserverError(f"cannot log {user!r} in: {status} {body}")
        return RegisteredUser(
            user_id=str(body["user_id"]),
            password=password,
            access_token=str(body["access_token"]),
            device_id=str(body["device_id"]),
        )

    # -- internals ------------------------------------------------------------------------

    async def _request(
        self, method: str, url: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        if self._session is None:
            raise HomeserverError("the homeserver has not been started")
        async with self._session.request(method, url, json=payload) as response:
            try:
                body = await response.json(content_type=None)
            except (json.JSONDecodeError, aiohttp.ContentTypeError):
                body = {"error": await response.text()}
            if not isinstance(body, dict):
                body = {"body": body}
            return response.status, body

    async def _write_config(self) -> None:
        yaml: Any = importlib.import_module("yaml")
        path = self.config_path
        fresh = not path.exists()
        if fresh:
            await self._generate_config()
            # Replaced by LOG_CONFIG_FILE below; drop it so nobody edits the wrong one.
            (self.data_dir / f"{self.server_name}.log.config").unlink(missing_ok=True)
        config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if self._port is None:
            self._port = _free_port()
        if fresh or not config.get("registration_shared_secret"):
            config["registration_shared_secret"] = secrets.token_urlsafe(32)
        self._secret = str(config["registration_shared_secret"])
        config.update(self._overrides())
        (self.data_dir / LOG_CONFIG_FILE).write_text(
            yaml.safe_dump(self._log_config(), sort_keys=False), encoding="utf-8"
        )
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    async def _generate_config(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            self.server_name,
            "--config-path",
            str(self.config_path),
            "--data-directory",
            str(self.data_dir),
            "--generate-config",
            "--report-stats=no",
            cwd=self.data_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise HomeserverError(
                "synapse --generate-config failed:\n" + output.decode("utf-8", "replace")
            )

    def _overrides(self) -> dict[str, Any]:
        rate_limits: dict[str, Any] = {name: dict(_RELAXED) for name in _FLAT_RATE_LIMITS}
        for name, parts in _NESTED_RATE_LIMITS.items():
            rate_limits[name] = {part: dict(_RELAXED) for part in parts}
        return {
            "server_name": self.server_name,
            "pid_file": str(self.data_dir / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.data_dir / DATABASE_FILE)},
            },
            "log_config": str(self.data_dir / LOG_CONFIG_FILE),
            "media_store_path": str(self.data_dir / "media_store"),
            "enable_registration": False,
            # Throwaway accounts: cheap password hashes make register/login fast.
            "bcrypt_rounds": 4,
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            **rate_limits,
            **self._extra,
        }

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                    "level": "WARNING",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    async def _wait_ready(self, deadline: float) -> None:
        assert self._session is not None and self._process is not None
        url = f"{self.base_url}/_matrix/client/versions"
        while True:
            if self._process.returncode is not None:
                raise HomeserverError(
                    f"Synapse exited with code {self._process.returncode} while starting.\n"
                    f"{self._log_tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session.get(
                    url, timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise HomeserverError(
                    f"Synapse did not answer on {url} within {START_TIMEOUT:.0f} s.\n"
                    f"{self._log_tail()}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    def _log_tail(self) -> str:
        parts = []
        for path in (self.data_dir / CONSOLE_FILE, self.log_path):
            tail = _tail(path)
            if tail:
                parts.append(f"--- {path.name} ---\n{tail}")
        return "\n".join(parts) or "(Synapse wrote no log)"

    async def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        self._signal(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning("Synapse did not stop within %.0f s; killing it", STOP_TIMEOUT)
            self._signal(process.pid, signal.SIGKILL)
            await process.wait()

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
