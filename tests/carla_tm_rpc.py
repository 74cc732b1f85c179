"""The RPCs the installed carla client's remote Traffic Manager can send, read from its binary.

When `client.get_trafficmanager(port)` finds a Traffic Manager already serving that port,
the client becomes a `TrafficManagerRemote` that forwards each call through
`TrafficManagerClient`: a header-only class whose methods each hand a name and the
arguments to rpclib's `rpc::client::call<Args...>(name, args...)`. Those methods survive
in `libcarla` as weak symbols. Replaying their inline `std::string` construction with the
interpreter of `tests.carla_client_rpc` recovers the names; the template arguments of the
`call` symbol each one reaches give the argument types (demangled with `c++filt`).

No method reads what the server answers (each one only destroys the returned
`object_handle`), so any result is accepted: what kills a caller is an error answer, a
wrong arity or silence (rpclib's client times out and throws).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone.x86 import X86_OP_IMM
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tests.carla_client_rpc import (
    NAME_PATTERN,
    _Image,
    _Machine,
    _plt_stubs,
    _section,
    libcarla_path,
)

TM_CLIENT_PREFIX = "_ZN5carla15traffic_manager20TrafficManagerClient"
TM_REMOTE_PREFIX = "_ZN5carla15traffic_manager20TrafficManagerRemote"
RPCLIB_CALL_PREFIX = "_ZN3rpc6client4call"  # rpc::client::call<Args...>(std::string const&, ...)
READS_RESULT = re.compile(r"convert|object2as|objectcv")  # msgpack conversions of an answer


@dataclass(frozen=True, slots=True)
class TmCall:
    """One RPC a TrafficManagerClient method sends."""

    name: str
    method: str  # the TrafficManagerClient method (mangled symbol)
    call_symbol: str  # the rpc::client::call<...> instantiation it reaches (mangled)
    reads_result: bool

    @property
    def argument_types(self) -> tuple[str, ...] | None:
        """C++ argument types of the call, or None where `c++filt` is not installed."""
        return _template_arguments(self.call_symbol)


@functools.cache
def tm_rpc_calls(so_path: Path | None = None) -> tuple[TmCall, ...]:
    """Every (name, argument types) a TrafficManagerClient or TrafficManagerRemote method sends."""
    path = so_path or libcarla_path()
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        text, rodata = _section(elf, ".text"), _section(elf, ".rodata")
        methods, callees = _tm_methods(elf)
        image = _Image(
            text=text.data(),
            text_address=text["sh_addr"],
            rodata=rodata.data(),
            rodata_address=rodata["sh_addr"],
            client_methods=tuple(span for span, _ in methods),
            callees={**callees, **_plt_stubs(elf)},
        )
    found: dict[str, TmCall] = {}
    for (address, size), name in methods:
        for call in _calls(image, name, address, size):
            found.setdefault(call.name, call)
    return tuple(sorted(found.values(), key=lambda c: c.name))


def tm_rpc_names(so_path: Path | None = None) -> frozenset[str]:
    return frozenset(call.name for call in tm_rpc_calls(so_path))


def _tm_methods(elf: ELFFile) -> tuple[list[tuple[tuple[int, int], str]], dict[int, str]]:
    """((address, size), name) of every TM client/remote method; every function's address."""
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        raise ValueError("libcarla has no symbol table; cannot find the Traffic Manager client")
    methods: dict[int, tuple[tuple[int, int], str]] = {}
    callees: dict[int, str] = {}
    for symbol in symtab.iter_symbols():
        if symbol["st_info"]["type"] != "STT_FUNC" or not symbol["st_value"]:
            continue
        callees[symbol["st_value"]] = symbol.name
        if symbol.name.startswith((TM_CLIENT_PREFIX, TM_REMOTE_PREFIX)) and symbol["st_size"]:
            methods[symbol["st_value"]] = ((symbol["st_value"], symbol["st_size"]), symbol.name)
    return [methods[a] for a in sorted(methods)], callees


def _calls(image: _Image, method: str, address: int, size: int) -> Iterator[TmCall]:
    """Replay one method; each rpclib call with a recoverable name yields a TmCall."""
    machine = _Machine()
    disassembler = Cs(CS_ARCH_X86, CS_MODE_64)
    disassembler.detail = True
    pending: list[tuple[str, str]] = []
    later: list[str] = []
    for insn in disassembler.disasm(image.code(address, size), address):
        if insn.mnemonic != "call":
            machine.step(insn, image)
            continue
        target = insn.operands[0]
        callee = image.callees.get(target.imm, "") if target.type == X86_OP_IMM else ""
        if callee.startswith(RPCLIB_CALL_PREFIX):
            names = [s for s in machine.string_arguments() if NAME_PATTERN.match(s)]
            pending += [(name, callee) for name in names]
        elif pending:
            later.append(callee)
        machine.clobber_after_call()
    reads = any(READS_RESULT.search(name) for name in later)
    for name, callee in pending:
        yield TmCall(name=name, method=method, call_symbol=callee, reads_result=reads)


@functools.cache
def _demangle(symbol: str) -> str | None:
    tool = shutil.which("c++filt")
    if tool is None:
        return None
    done = subprocess.run([tool, symbol], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _template_arguments(symbol: str) -> tuple[str, ...] | None:
    """`rpc::client::call<A, B>(...)` -> ("A", "B"), splitting at top-level commas only."""
    text = _demangle(symbol)
    if text is None:
        return None
    start = text.index("rpc::client::call<") + len("rpc::client::call<")
    depth, parts, current = 0, [], ""
    for ch in text[start:]:
        if ch == "<":
            depth += 1
        elif ch == ">":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return tuple(parts)
