"""The grader's side of running a student's file in a process of its own.

    student = StudentProcess(path)          # a process with the file imported (or the reason not)
    ex = student.exercises                  # the file as the checks see it
    out = ex.softmax(Tensor(x), dim=1)      # runs there; what comes back is data: arrays,
                                            # numbers, StudentTensor, RemoteObject
    student.close()                         # kills its process group, removes its folder

A check reads like a check on an imported module, but every call is a request to the
student's process (runner.py) and every result is a value decoded from a message
(protocol.py: JSON and .npy, never pickle).  The check compares those values with references
it computes here, so nothing the student's code does in its own process -- patch numpy,
the checks or the autograder, print a table, exit early -- can change a verdict.

Two ways to start the process, the same from the checks' side:

    fork    (Linux, the default) one fork server per grading process imports numpy,
            minigrad and the checks once and forks a fresh process per student file: ~10 ms
    spawn   (elsewhere, or MINIGRAD_GRADER_ISOLATION=spawn) a fresh `python -I` per file: ~1 s

Either way the process has its own session (killing its group kills whatever it started),
a minimal environment, an empty working directory, and the limits of runner.apply_limits.
Time limits are kept here: the grader waits for each answer until the task's deadline, then
kills the process group and starts a new process for the next task.
"""
from __future__ import annotations

import atexit
import contextvars
import dataclasses
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..i18n import language, tr
from . import protocol

ISOLATION_ENV = "MINIGRAD_GRADER_ISOLATION"       # "fork" or "spawn"
MEMORY_MB = 4096          # RLIMIT_AS allowance over what the process uses after importing minigrad
FILE_MB = 64              # the largest file the student's process may write (its output too)
IMPORT_TIMEOUT = 30.0     # seconds to import a student's file
_ROOT = str(Path(__file__).resolve().parents[2])    # the folder holding the minigrad package
_BOOT = (f"import sys; sys.path.insert(0, {_ROOT!r}); "
         "from minigrad.autograder.runner import boot; boot(sys.argv[1:])")

# Environment variables the student's process keeps (everything else is dropped): where to
# find programs and home, the locale, and the numerical libraries' settings as given.
_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "SYSTEMROOT")
_KEEP_PREFIXES = ("LC_", "OPENBLAS_", "OMP_", "MKL_", "NUMBA_", "GOTO", "BLIS_")


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in _KEEP or k.startswith(_KEEP_PREFIXES)}
    env["MINIGRAD_BACKEND"] = "numpy"           # the readable reference, as the lessons show
    env["MPLBACKEND"] = "Agg"                   # a plot never opens a window
    env["PYTHONHASHSEED"] = "0"
    return env


# ----------------------------------------------------------------------------------------
# What comes back from the student's process
# ----------------------------------------------------------------------------------------
class StudentTensor:
    """A minigrad Tensor the student's code returned, as data: its values, its gradient
    (None or an array), requires_grad, and whether it has a graph node (is not a leaf)."""

    def __init__(self, data, requires_grad, has_node, grad, handle, owner):
        self.data, self.requires_grad, self.has_node, self.grad = data, requires_grad, has_node, grad
        self._handle, self._owner = handle, owner

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def __float__(self):
        return float(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", threshold=20)
        return f"tensor({body}" + (", requires_grad=True)" if self.requires_grad else ")")


class RemoteObject:
    """An object that stays in the student's process (a model, a tokenizer, a generator):
    its type name and repr; calling it runs it there."""

    def __init__(self, type_name, text, is_callable, handle, owner):
        self.type_name, self.text, self.is_callable = type_name, text, is_callable
        self._handle, self._owner = handle, owner

    def __call__(self, *args, **kwargs):
        if not self.is_callable:
            raise TypeError(f"'{self.type_name}' object is not callable")
        return self._owner.call(self, args, kwargs)

    def __repr__(self):
        return self.text


class Kept:
    """Something sent to the student's process and kept there (Exercises.keep): passing it to
    the student's functions passes that object; Exercises.fetch gives its current value."""

    def __init__(self, handle, owner):
        self._handle, self._owner = handle, owner

    def __repr__(self):
        return f"<kept #{self._handle[1]}>"


class Build:
    """Grader -> student: construct `ctor(*args, **kwargs)` there (a class or function of
    minigrad), load `state` (name -> array) with load_state_dict, then .train(train) unless
    train is None, and set `attrs`.  The check builds the same object here for its reference."""

    def __init__(self, ctor, *args, state=None, train=None, attrs=None, **kwargs):
        self.ctor, self.args, self.kwargs = ctor, args, kwargs
        self.state, self.train, self.attrs = state, train, attrs

    @classmethod
    def module(cls, module, ctor, *args, attrs=None, **kwargs):
        """The spec of a module built here as ctor(*args, **kwargs), with its current weights
        and train/eval mode."""
        state = {k: np.array(v.data) for k, v in module.state_dict().items()}
        return cls(ctor, *args, state=state, train=module.training, attrs=attrs, **kwargs)


class StudentRaised(Exception):
    """The student's code raised: info has type, message, where, line, category ("todo",
    "assert", "refused", "memory", "error") and refused (the forbidden function's index)."""

    def __init__(self, info: dict):
        self.info = info
        super().__init__(f"{info.get('type')}: {info.get('message')}")


class StudentTimeout(Exception):
    """The student's process did not answer before the deadline (it was killed)."""


class StudentGone(Exception):
    """The student's process ended without answering; the text says how."""


class StudentGarbled(Exception):
    """The student's process sent back something that is not a message of the protocol."""


class Refused(Exception):
    """The student's code called a library function the task forbids (spec: core._Forbidden)."""

    def __init__(self, spec):
        self.spec = spec
        super().__init__(spec.name)


class ImportFailed(Exception):
    """The student's file did not import: kind is "error" (text: the exception), "timeout" or
    "gone"/"garbled" (text: how the process ended)."""

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text
        super().__init__(text)


# the library functions the checks running now forbid (core.forbid / core.forbid_function)
forbidden: contextvars.ContextVar[tuple] = contextvars.ContextVar("forbidden", default=())


# ----------------------------------------------------------------------------------------
# Starting and stopping the student's process
# ----------------------------------------------------------------------------------------
class _Child:
    """One started process: its pid, the grader's end of its socket, how to end it."""

    def __init__(self, pid, sock, reap):
        self.pid, self.sock, self._reap = pid, sock, reap
        self.status: dict | None = None

    def end(self, grace: float = 0.0) -> dict:
        """Kill its process group (after up to `grace` s for it to exit by itself) and collect
        it: {"exitcode": c} or {"signal": n}, and "killed" (it was still running)."""
        if self.status is None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.status = self._reap(self.pid, grace)
        return self.status


class Spawner:
    """A fresh `python -I` for every student file."""

    name = "spawn"

    def start(self, options: dict) -> _Child:
        ours, theirs = socket.socketpair()
        log = open(os.path.join(options["workdir"], "output.txt"), "wb")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, "child", str(theirs.fileno()),
                 json.dumps(options)],
                pass_fds=[theirs.fileno()], start_new_session=True, env=clean_env(),
                cwd=options["workdir"], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, close_fds=True)
        finally:
            log.close()
            theirs.close()

        def reap(pid, grace):
            killed = False
            try:
                proc.wait(timeout=grace) if grace > 0 else None
            except subprocess.TimeoutExpired:
                pass
            if proc.poll() is None:
                killed = True
            _kill_group(pid)
            code = proc.wait()
            return ({"signal": -code, "killed": killed} if code < 0 else
                    {"exitcode": code, "killed": killed})

        return _Child(proc.pid, ours, reap)

    def close(self):
        pass


class ForkServer:
    """One `python -I` that imported numpy, minigrad and the checks, forking a process per
    student file (runner.serve_forks).  It never runs student code itself."""

    name = "fork"

    def __init__(self):
        self._lock = threading.Lock()
        self._proc = None
        self._control = None

    def _ensure(self):
        if self._proc is not None and self._proc.poll() is None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._dir = tempfile.mkdtemp(prefix="minigrad-forkserver-")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, "server", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], start_new_session=True, env=clean_env(),
                cwd=self._dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=None, close_fds=True)
        finally:
            theirs.close()
        self._control = ours

    def _ask(self, cmd: dict, fds=()) -> dict:
        data = json.dumps(cmd).encode()
        if fds:
            socket.send_fds(self._control, [data], list(fds))
        else:
            self._control.send(data)
        answer = self._control.recv(1 << 16)
        if not answer:
            raise OSError("the fork server ended")
        return json.loads(answer)

    def start(self, options: dict) -> _Child:
        ours, theirs = socket.socketpair()
        try:
            with self._lock:
                for attempt in (0, 1):                  # a server that died is started again
                    self._ensure()
                    try:
                        answer = self._ask({"cmd": "spawn", "options": options}, [theirs.fileno()])
                        break
                    except OSError:
                        self.close()
                        if attempt:
                            raise
        finally:
            theirs.close()
        if "pid" not in answer:
            raise OSError(f"the fork server could not start a process: {answer}")
        control_of = self

        def reap(pid, grace):
            with control_of._lock:
                try:
                    return control_of._ask({"cmd": "reap", "pid": pid, "grace": grace})
                except OSError:
                    _kill_group(pid)
                    return {"exitcode": None, "killed": True}

        return _Child(answer["pid"], ours, reap)

    def close(self):
        if self._control is not None:
            try:
                self._control.close()
            except OSError:
                pass
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(self._proc.pid)
                self._proc.wait()
            self._proc = None
            shutil.rmtree(self._dir, ignore_errors=True)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def fork_supported() -> bool:
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and hasattr(socket, "send_fds") and hasattr(socket, "SOCK_SEQPACKET"))


_launchers: dict[str, object] = {}


def launcher(kind: str | None = None):
    """The shared launcher: "fork" (Linux default), "spawn" (elsewhere), or $MINIGRAD_GRADER_ISOLATION."""
    kind = kind or os.environ.get(ISOLATION_ENV) or ("fork" if fork_supported() else "spawn")
    if kind not in ("fork", "spawn"):
        raise ValueError(f"{ISOLATION_ENV}={kind!r}: use 'fork' or 'spawn'")
    if kind == "fork" and not fork_supported():
        kind = "spawn"
    if kind not in _launchers:
        _launchers[kind] = ForkServer() if kind == "fork" else Spawner()
    return _launchers[kind]


@atexit.register
def _close_launchers():
    for item in _launchers.values():
        item.close()
    _launchers.clear()


# ----------------------------------------------------------------------------------------
# One student file in its process
# ----------------------------------------------------------------------------------------
_MAX_OUTPUT_SHOWN = 4000          # characters of the student's output kept for the report


class StudentProcess:
    """A student's file, imported in a process of its own (started again after a task that
    killed it).  `exercises` is the file as the checks see it."""

    def __init__(self, path, *, isolation: str | None = None, memory_mb: float | None = MEMORY_MB,
                 import_timeout: float = IMPORT_TIMEOUT, file_mb: float = FILE_MB):
        self.path = Path(path).resolve()
        self.launcher = launcher(isolation)
        self.memory_mb, self.import_timeout, self.file_mb = memory_mb, import_timeout, file_mb
        self.exercises = Exercises(self)
        self.names: dict = {}
        self.limits: dict = {}
        self.output = ""                   # what the student's code printed (the last part)
        self.output_lines = 0
        self._child: _Child | None = None
        self._workdir = None
        self._seq = 0
        self._task = 0                     # handles are valid within one task of one process
        self._generation = 0
        self._reset_next = False
        self.deadline = None
        self.timeout = None
        self.starts = 0

    # --- the process ---------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._child is not None

    def start(self):
        """Start a process and import the file; ImportFailed says why not."""
        self.close()
        self._workdir = tempfile.mkdtemp(prefix="minigrad-student-")
        options = {"path": str(self.path), "workdir": self._workdir,
                   "memory_bytes": int(self.memory_mb * 2 ** 20) if self.memory_mb else None,
                   "file_bytes": int(self.file_mb * 2 ** 20) if self.file_mb else None,
                   "lang": language()}      # the messages made there speak the grader's language
        try:
            self._child = self.launcher.start(options)
        except OSError as e:                   # no process to be had (a full process table)
            self.close()
            raise ImportFailed("gone", tr(f"the grader could not start a process for your file "
                                          f"({e})", f"评分程序无法为你的文件启动进程（{e}）")) from None
        self._generation += 1
        self.starts += 1
        try:
            reply = self._request({"op": "import"}, time.monotonic() + self.import_timeout)
        except StudentTimeout:
            self.close()
            raise ImportFailed("timeout", tr(f"importing your file took longer than "
                                             f"{self.import_timeout:g} s (an endless loop at the "
                                             f"top level of the file?)",
                                             f"导入你的文件用时超过 {self.import_timeout:g} 秒"
                                             f"（文件顶层有死循环？）")) from None
        except (StudentGone, StudentGarbled) as e:
            self.close()
            raise ImportFailed("gone" if isinstance(e, StudentGone) else "garbled",
                               str(e)) from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            text = reply.get("import_error") if isinstance(reply, dict) else None
            self.close()
            raise ImportFailed("error", str(text or tr("the file did not import", "文件没有导入成功")))
        names = reply.get("names")
        self.names = names if isinstance(names, dict) else {}
        self.limits = reply.get("limits") if isinstance(reply.get("limits"), dict) else {}

    def close(self) -> dict | None:
        """End the process (and everything it started); keep what it printed."""
        status = None
        if self._child is not None:
            status = self._child.end()
            self._child = None
        if self._workdir is not None:
            self._read_output()
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        return status

    def _read_output(self):
        path = os.path.join(self._workdir, "output.txt")
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                if size > _MAX_OUTPUT_SHOWN:
                    f.seek(size - _MAX_OUTPUT_SHOWN)
                data = f.read(_MAX_OUTPUT_SHOWN)
        except OSError:
            return
        if not data:
            return
        text = data.decode("utf-8", errors="replace")
        self.output_lines += text.count("\n") + (not text.endswith("\n"))
        self.output = (self.output + text)[-_MAX_OUTPUT_SHOWN:]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- tasks ---------------------------------------------------------------------------
    def begin_task(self, timeout: float):
        """The next request starts a task: a fresh engine state there, no old handles, and
        a deadline `timeout` seconds from now for everything the task asks."""
        self._task += 1
        self._reset_next = True
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def _key(self):
        return (self._generation, self._task)

    # --- requests ------------------------------------------------------------------------
    def call(self, target, args=(), kwargs=None):
        """Call the student's `target` (a dotted name in the file, or a RemoteObject)."""
        if isinstance(target, RemoteObject):
            self._check_handle(target)
        return self.ask({"op": "call", "target": target, "args": list(args),
                         "kwargs": dict(kwargs or {})})

    def ask(self, msg: dict):
        """Send a request within the current task; its value, or StudentRaised / Refused /
        StudentTimeout / StudentGone / StudentGarbled."""
        if self._child is None:
            raise StudentGone(tr("the process running your file is not running",
                                 "运行你文件的进程没有在运行"))
        specs = forbidden.get()
        msg = dict(msg, forbid=[s.wire() for s in specs])
        if self._reset_next:
            msg["reset"] = True
            self._reset_next = False
        deadline = self.deadline if self.deadline is not None else time.monotonic() + 60
        reply = self._request(msg, deadline)
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            self.close()
            raise StudentGarbled(tr("an answer without a status", "一个没有状态的答复"))
        refused = reply.get("refused") or []
        for i in refused:
            if isinstance(i, int) and 0 <= i < len(specs):
                raise Refused(specs[i])
        if not reply["ok"]:
            info = reply.get("raised")
            if not isinstance(info, dict):
                self.close()
                raise StudentGarbled(tr("an exception without a description", "一个没有描述的异常"))
            info = {k: (str(v)[:2000] if isinstance(v, str) else v) for k, v in info.items()}
            if info.get("category") == "refused" and isinstance(info.get("refused"), int) \
                    and 0 <= info["refused"] < len(specs):
                raise Refused(specs[info["refused"]])
            raise StudentRaised(info)
        return reply.get("value")

    def _request(self, msg, deadline):
        self._seq += 1
        seq, nonce = self._seq, secrets.token_hex(8)
        frame = protocol.pack(seq, nonce, msg, custom=self._encode_custom)
        sock = self._child.sock
        try:
            self._send(sock, frame, deadline)
            got = self._receive(sock, deadline)
        except StudentTimeout:
            self.close()
            raise
        except StudentGone:
            status = self._child.end(grace=1.0) if self._child else {}
            self.close()
            raise StudentGone(describe_exit(status)) from None
        except protocol.ProtocolError as e:
            self.close()
            raise StudentGarbled(str(e)) from None
        got_seq, got_nonce, tree, arrays = got
        if got_seq != seq or got_nonce != nonce:
            self.close()
            same = got_nonce == nonce
            raise StudentGarbled(tr(f"a message that is not the answer to the grader's request "
                                    f"(answer #{got_seq} to request #{seq}, "
                                    f"{'the same' if same else 'another'} nonce): "
                                    f"forged, or written by the file itself",
                                    f"一条不是评分程序请求之答复的消息（第 {got_seq} 号答复对应第 "
                                    f"{seq} 号请求，{'相同' if same else '不同'}的 nonce）："
                                    f"是伪造的，或是文件自己写出的"))
        try:
            return protocol.decode_message(tree, arrays, self._hooks(arrays))
        except protocol.ProtocolError as e:
            self.close()
            raise StudentGarbled(str(e)) from None

    @staticmethod
    def _send(sock, frame: bytes, deadline):
        view = memoryview(frame)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StudentTimeout()
            try:
                _, writable, _ = select.select([], [sock], [], remaining)
            except (OSError, ValueError):
                raise StudentGone() from None
            if not writable:
                raise StudentTimeout()
            try:
                sent = sock.send(view[:1 << 20])
            except (BrokenPipeError, ConnectionResetError, OSError):
                raise StudentGone() from None
            view = view[sent:]

    @staticmethod
    def _receive(sock, deadline):
        buf = bytearray()
        need = protocol.PREFIX_SIZE
        lengths = None
        while True:
            while len(buf) < need:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StudentTimeout()
                try:
                    readable, _, _ = select.select([sock], [], [], remaining)
                except (OSError, ValueError):
                    raise StudentGone() from None
                if not readable:
                    raise StudentTimeout()
                try:
                    chunk = sock.recv(min(need - len(buf), 1 << 20))
                except (ConnectionResetError, OSError):
                    raise StudentGone() from None
                if not chunk:
                    raise StudentGone()
                buf += chunk
            if lengths is None:
                lengths = protocol.parse_prefix(bytes(buf[:protocol.PREFIX_SIZE]))
                need = protocol.PREFIX_SIZE + lengths[0] + lengths[1]
                continue
            start = protocol.PREFIX_SIZE
            header = bytes(buf[start:start + lengths[0]])
            body = bytes(buf[start + lengths[0]:need])
            return protocol.unpack(header, body)

    # --- values --------------------------------------------------------------------------
    def _check_handle(self, obj):
        if obj._owner is not self or obj._handle[0] != self._key() or obj._handle[1] is None:
            raise TypeError(f"a {type(obj).__name__} of another task cannot be sent back")

    def _encode_custom(self, value, enc, depth):
        from ..tensor import Tensor

        if isinstance(value, StudentTensor):
            if value._owner is self and value._handle[0] == self._key() and value._handle[1]:
                return {"$": "handle", "id": value._handle[1]}
            return {"$": "tensor", "data": enc.array(value.data),
                    "requires_grad": bool(value.requires_grad)}
        if isinstance(value, (RemoteObject, Kept)):
            self._check_handle(value)
            return {"$": "handle", "id": value._handle[1]}
        if isinstance(value, Tensor):
            return {"$": "tensor", "data": enc.array(value.data),
                    "requires_grad": bool(value.requires_grad)}
        if isinstance(value, Build):
            return {"$": "build", "ctor": enc.encode(value.ctor, depth + 1),
                    "args": enc.encode(list(value.args), depth + 1),
                    "kwargs": enc.encode(dict(value.kwargs), depth + 1),
                    "state": enc.encode(value.state, depth + 1), "train": value.train,
                    "attrs": enc.encode(value.attrs, depth + 1)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
            return self._encode_custom(Build(type(value), **fields), enc, depth)
        if callable(value) and hasattr(value, "__qualname__") and hasattr(value, "__module__"):
            module = getattr(value, "__module__", "") or ""
            if "<" in value.__qualname__ or not (module == "minigrad"
                                                 or module.startswith("minigrad.")):
                raise TypeError(f"cannot send {value!r}: only module-level functions and "
                                f"classes of minigrad can be sent")
            return {"$": "function", "module": module, "qualname": value.__qualname__}
        return None

    def _hooks(self, arrays) -> dict:
        key = self._key()

        def tensor(node, sub):
            data = protocol.array_ref(node.get("data"), arrays)
            grad = sub(node.get("grad"))
            if grad is not None and not isinstance(grad, np.ndarray):
                raise protocol.ProtocolError("a tensor whose grad is not an array")
            return StudentTensor(data, bool(node.get("requires_grad")), bool(node.get("has_node")),
                                 grad, (key, _int_or_none(node.get("handle"))), self)

        def obj(node, sub):
            return RemoteObject(str(node.get("type"))[:80], str(node.get("repr"))[:protocol.MAX_REPR],
                                bool(node.get("callable")), (key, _int_or_none(node.get("handle"))),
                                self)

        return {"tensor": tensor, "object": obj}


def _int_or_none(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def describe_exit(status: dict | None) -> str:
    """How a student's process ended, for a failure's detail."""
    status = status or {}
    if status.get("killed"):
        return tr("the process running your file stopped answering the grader (it closed its "
                  "connection) and was stopped",
                  "运行你文件的进程不再答复评分程序（它关闭了连接），已被终止")
    if status.get("signal"):
        n = status["signal"]
        try:
            name = signal.Signals(n).name
        except ValueError:
            name = tr(f"signal {n}", f"信号 {n}")
        why = {"SIGKILL": tr(" (the system's out-of-memory killer?)", "（系统的内存不足终止机制？）"),
               "SIGSEGV": tr(" (a crash in compiled code)", "（编译代码崩溃）"),
               "SIGABRT": tr(" (an abort in compiled code)", "（编译代码中止）"),
               "SIGXCPU": tr(" (the CPU time limit)", "（CPU 时间上限）"),
               "SIGXFSZ": tr(" (a file larger than the limit)", "（文件超过大小上限）")}
        return tr(f"the process running your file was killed by {name}{why.get(name, '')}",
                  f"运行你文件的进程被 {name} 终止{why.get(name, '')}")
    code = status.get("exitcode")
    if code is None:
        return tr("the process running your file ended", "运行你文件的进程结束了")
    return tr(f"the process running your file ended with exit status {code} before answering "
              f"(os._exit, or a crash?)",
              f"运行你文件的进程在答复前以退出状态 {code} 结束（调用了 os._exit，还是崩溃了？）")


class Exercises:
    """The student's file as the checks see it: `ex.name(...)` runs the student's function
    in its process; `hasattr(ex, name)` says whether the file defines it."""

    def __init__(self, process: StudentProcess):
        self._process = process

    def __getattr__(self, name):
        if name.startswith("__") or name not in self._process.names:
            raise AttributeError(name)
        return Remote(self._process, name)

    def kind(self, name) -> tuple[str, str]:
        """("class" | "function" | "module" | "other", the type's name) of `name` in the file."""
        info = self._process.names.get(name) or {}
        return str(info.get("kind")), str(info.get("type"))

    def run(self, probe, *args, **kwargs):
        """Run `probe(student_module, *args, **kwargs)` in the student's process: a module-level
        function of minigrad.autograder that observes what a plain call cannot (a gradient, a
        model's state); its result comes back as data."""
        return self._process.ask({"op": "run", "probe": probe, "args": list(args),
                                  "kwargs": dict(kwargs)})

    def keep(self, value) -> Kept:
        """Send `value` to the student's process and keep it there: the handle passes that
        very object to the student's functions, and fetch(handle) gives what it holds later."""
        reply = self._process.ask({"op": "keep", "value": value})
        handle = reply.get("handle") if isinstance(reply, dict) else None
        if _int_or_none(handle) is None:
            raise StudentGarbled(tr("no handle for a kept value", "保存的值没有句柄"))
        return Kept((self._process._key(), handle), self._process)

    def fetch(self, handle):
        """The current value of an object kept in the student's process."""
        return self._process.ask({"op": "fetch", "value": handle})


class Remote:
    """A function (or `Class.attr`) of the student's file, called in its process."""

    def __init__(self, process, name):
        self._process, self._name = process, name

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Remote(self._process, f"{self._name}.{attr}")

    def __call__(self, *args, **kwargs):
        return self._process.call(self._name, args, kwargs)

    def __repr__(self):
        return f"<the student's {self._name}>"
