"""The RPC method names the installed `carla` client library can send, read from its binary.

The server must answer every name the client can call (carla-protocol.md section 4).
Instead of trusting a hand-written list, this module disassembles every
`carla::client::detail::Client` method of the wheel's `libcarla` and recovers the
`std::string` each one hands to the client's RPC call templates (`Client::Pimpl::
CallAndWait`, `AsyncCall`, ...). GCC builds those strings inline: short ones with
immediate stores into the small-string buffer on the stack, long ones by copying
16-byte blocks of `.rodata` (and immediate tails) into a freshly allocated buffer.
A tiny symbolic interpreter replays those stores, so names that never appear as whole
C strings in the file (`version`, `spawn_actor`, `load_map_layer`) are found too.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from capstone import CS_ARCH_X86, CS_MODE_64, Cs, CsInsn
from capstone.x86 import X86_OP_IMM, X86_OP_MEM, X86_OP_REG
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Section, SymbolTableSection

CLIENT_METHOD_PREFIXES = ("_ZN5carla6client6detail6Client", "_ZNK5carla6client6detail6Client")
PIMPL_PREFIXES = ("_ZN5carla6client6detail6Client5Pimpl", "_ZNK5carla6client6detail6Client5Pimpl")
# Functions that send a request named by their std::string argument: the client's
# Pimpl call templates, CARLA's rpc::Client wrapper and rpclib's rpc::client itself.
RPC_CALLEE_PREFIXES = (*PIMPL_PREFIXES, "_ZN5carla3rpc6Client", "_ZN3rpc6client")
NAME_PATTERN = re.compile(r"^[a-z][a-z_A-Z]*$")
ARGUMENT_REGISTERS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
CALLER_SAVED = (*ARGUMENT_REGISTERS, "rax", "r10", "r11")
MAX_NAME_LENGTH = 64


def libcarla_path() -> Path:
    """The `libcarla` extension of the installed `carla` package (found without importing it)."""
    spec = importlib.util.find_spec("carla")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the carla package is not installed")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("libcarla.cpython-*.so"))
        if found:
            return found[0]
    raise FileNotFoundError("carla is installed but has no libcarla.cpython-*.so")


@functools.cache
def client_rpc_names(so_path: Path | None = None) -> frozenset[str]:
    """Every RPC name a `carla::client::detail::Client` method passes to an RPC call."""
    path = so_path or libcarla_path()
    with path.open("rb") as stream:
        image = _Image.load(stream)
    names: set[str] = set()
    for address, size in image.client_methods:
        names.update(_rpc_strings(image, address, size))
    return frozenset(names)


@dataclass(frozen=True)
class _Image:
    """The parts of the ELF file the interpreter needs, as plain bytes and maps."""

    text: bytes
    text_address: int
    rodata: bytes
    rodata_address: int
    client_methods: tuple[tuple[int, int], ...]
    callees: dict[int, str]  # function or PLT-stub address -> mangled name

    @staticmethod
    def load(stream: BinaryIO) -> _Image:
        elf = ELFFile(stream)
        text, rodata = _section(elf, ".text"), _section(elf, ".rodata")
        methods, callees = _functions(elf)
        return _Image(
            text=text.data(),
            text_address=text["sh_addr"],
            rodata=rodata.data(),
            rodata_address=rodata["sh_addr"],
            client_methods=tuple(methods),
            callees={**callees, **_plt_stubs(elf)},
        )

    def code(self, address: int, size: int) -> bytes:
        start = address - self.text_address
        return self.text[start : start + size]

    def rodata_bytes(self, address: int, size: int) -> bytes | None:
        start = address - self.rodata_address
        if start < 0 or start + size > len(self.rodata):
            return None
        return self.rodata[start : start + size]


def _section(elf: ELFFile, name: str) -> Section:
    section = elf.get_section_by_name(name)
    if section is None:
        raise ValueError(f"libcarla has no {name} section")
    return section


def _functions(elf: ELFFile) -> tuple[list[tuple[int, int]], dict[int, str]]:
    """Client methods (address, size) and a map of every function address to its name."""
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        raise ValueError("libcarla has no symbol table; cannot find the client methods")
    methods: list[tuple[int, int]] = []
    callees: dict[int, str] = {}
    for symbol in symtab.iter_symbols():
        if symbol["st_info"]["type"] != "STT_FUNC" or not symbol["st_value"]:
            continue
        callees[symbol["st_value"]] = symbol.name
        is_method = symbol.name.startswith(CLIENT_METHOD_PREFIXES)
        if is_method and not symbol.name.startswith(PIMPL_PREFIXES) and symbol["st_size"]:
            methods.append((symbol["st_value"], symbol["st_size"]))
    return sorted(set(methods)), callees


def _plt_stubs(elf: ELFFile) -> dict[int, str]:
    """PLT stub address -> imported name (entry 0 of `.plt` is the resolver stub)."""
    plt, relocations = elf.get_section_by_name(".plt"), elf.get_section_by_name(".rela.plt")
    if plt is None or not isinstance(relocations, RelocationSection):
        return {}
    dynsym = elf.get_section(relocations["sh_link"])
    if not isinstance(dynsym, SymbolTableSection):
        return {}
    entry_size = 16
    return {
        plt["sh_addr"] + entry_size * (index + 1): dynsym.get_symbol(rel["r_info_sym"]).name
        for index, rel in enumerate(relocations.iter_relocations())
    }


def _is_rpc_call(callee: str) -> bool:
    """True for the functions that take the RPC name as a std::string and send it."""
    return callee.startswith(RPC_CALLEE_PREFIXES)


def _rpc_strings(image: _Image, address: int, size: int) -> Iterator[str]:
    machine = _Machine()
    disassembler = Cs(CS_ARCH_X86, CS_MODE_64)
    disassembler.detail = True
    for insn in disassembler.disasm(image.code(address, size), address):
        if insn.mnemonic == "call":
            target = insn.operands[0]
            callee = image.callees.get(target.imm, "") if target.type == X86_OP_IMM else ""
            if _is_rpc_call(callee):
                yield from (s for s in machine.string_arguments() if NAME_PATTERN.match(s))
            machine.clobber_after_call()
        else:
            machine.step(insn, image)


Value = tuple[str, int]  # ("imm", n) | ("stack", offset) | ("heap", region) | ("rodata", address)
Operand = Any  # a capstone x86 operand or memory operand; capstone ships no type hints


@dataclass
class _Machine:
    """Just enough of x86-64 to follow inline std::string construction.

    Registers hold constants or symbolic pointers (a stack offset, a heap region from the
    last call's return value); memory is kept per region as known bytes plus pointer slots.
    """

    registers: dict[str, Value] = field(default_factory=dict)
    xmm: dict[str, bytes] = field(default_factory=dict)
    memory: dict[tuple[str, int], dict[int, int]] = field(default_factory=dict)
    pointers: dict[int, Value] = field(default_factory=dict)  # stack offset -> pointer
    stack_delta: int = 0
    next_region: int = 1

    def clobber_after_call(self) -> None:
        for name in CALLER_SAVED:
            self.registers.pop(name, None)
        self.xmm.clear()
        self.registers["rax"] = ("heap", self.next_region)
        self.next_region += 1

    def string_arguments(self) -> Iterator[str]:
        """Contents of std::string objects whose address is in an argument register."""
        for name in ARGUMENT_REGISTERS:
            value = self.registers.get(name)
            if value is None or value[0] != "stack":
                continue
            text = self._read_std_string(value[1])
            if text is not None:
                yield text

    def _read_std_string(self, offset: int) -> str | None:
        buffer = self.pointers.get(offset)
        length = self._read_int(("stack", 0), offset + 8, 8)
        if buffer is None or buffer[0] not in ("stack", "heap") or not length:
            return None
        if length > MAX_NAME_LENGTH:
            return None
        region = ("stack", 0) if buffer[0] == "stack" else ("heap", buffer[1])
        start = buffer[1] if buffer[0] == "stack" else 0
        cells = self.memory.get(region, {})
        raw = [cells.get(start + i) for i in range(length)]
        if any(b is None for b in raw):
            return None
        return bytes(b for b in raw if b is not None).decode("latin-1")

    def _read_int(self, region: tuple[str, int], offset: int, size: int) -> int | None:
        cells = self.memory.get(region, {})
        raw = [cells.get(offset + i) for i in range(size)]
        if any(b is None for b in raw):
            return None
        return int.from_bytes(bytes(b for b in raw if b is not None), "little")

    def step(self, insn: CsInsn, image: _Image) -> None:
        mnemonic, ops = insn.mnemonic, insn.operands
        if mnemonic == "push":
            self.stack_delta -= 8
            return
        if mnemonic in ("sub", "add") and self._is_rsp(insn, ops[0]) and ops[1].type == X86_OP_IMM:
            self.stack_delta += -ops[1].imm if mnemonic == "sub" else ops[1].imm
            return
        if len(ops) == 2 and ops[0].type == X86_OP_MEM:
            self._store(insn, ops[0].mem, ops[0].size, self._source_bytes(insn, ops[1]))
            return
        if len(ops) == 2 and ops[0].type == X86_OP_REG:
            self._load(insn, mnemonic, insn.reg_name(ops[0].reg), ops[1], image)
            return
        self._forget_written(insn)

    def _load(self, insn: CsInsn, mnemonic: str, dest: str, src: Operand, image: _Image) -> None:
        if dest.startswith("xmm"):
            data = None
            if src.type == X86_OP_MEM and insn.reg_name(src.mem.base) == "rip":
                data = image.rodata_bytes(insn.address + insn.size + src.mem.disp, src.size)
            if data is not None and mnemonic.startswith("mov"):
                self.xmm[dest] = data.ljust(16, b"\0")
            else:
                self.xmm.pop(dest, None)
            return
        full = _full_register(dest)
        value: Value | None = None
        if mnemonic in ("mov", "movabs") and src.type == X86_OP_IMM:
            value = ("imm", _unsigned(src.imm))
        elif mnemonic == "mov" and src.type == X86_OP_REG:
            source = _full_register(insn.reg_name(src.reg))
            value = (
                ("stack", self.stack_delta) if source == "rsp" else self.registers.get(source or "")
            )
        elif mnemonic in ("mov", "lea") and src.type == X86_OP_MEM:
            value = self._address_or_load(insn, mnemonic, src)
        if value is None or full is None:
            self._forget_written(insn)
        else:
            self.registers[full] = value

    def _address_or_load(self, insn: CsInsn, mnemonic: str, src: Operand) -> Value | None:
        mem = src.mem
        base = insn.reg_name(mem.base) if mem.base else None
        if mnemonic == "lea":
            if base == "rsp" and not mem.index:
                return ("stack", self.stack_delta + mem.disp)
            if base == "rip":
                return ("rodata", insn.address + insn.size + mem.disp)
            return None
        if base == "rsp" and not mem.index and src.size == 8:
            offset = self.stack_delta + mem.disp
            if offset in self.pointers:
                return self.pointers[offset]
            number = self._read_int(("stack", 0), offset, 8)
            return None if number is None else ("imm", number)
        return None

    def _source_bytes(self, insn: CsInsn, src: Operand) -> bytes | Value | None:
        if src.type == X86_OP_IMM:
            return _unsigned(src.imm).to_bytes(8, "little")
        if src.type != X86_OP_REG:
            return None
        name = insn.reg_name(src.reg)
        if name.startswith("xmm"):
            data: bytes | None = self.xmm.get(name)
            return data
        value = self.registers.get(_full_register(name) or "")
        if value is not None and value[0] == "imm":
            return value[1].to_bytes(8, "little")
        return value

    def _store(self, insn: CsInsn, mem: Operand, size: int, data: bytes | Value | None) -> None:
        target = self._resolve(insn, mem)
        if target is None:
            return
        region, offset = target
        cells = self.memory.setdefault(region, {})
        for i in range(size):
            cells.pop(offset + i, None)
        if region[0] == "stack":
            for slot in range(offset - 7, offset + size):
                self.pointers.pop(slot, None)
        if isinstance(data, bytes):
            for i in range(size):
                cells[offset + i] = data[i] if i < len(data) else 0
        elif data is not None and region[0] == "stack" and size == 8:
            self.pointers[offset] = data

    def _resolve(self, insn: CsInsn, mem: Operand) -> tuple[tuple[str, int], int] | None:
        """Region and offset a memory operand addresses, when the interpreter knows it."""
        base = insn.reg_name(mem.base) if mem.base else None
        index = 0
        if mem.index:
            index_value = self.registers.get(_full_register(insn.reg_name(mem.index)) or "")
            if index_value is None or index_value[0] != "imm":
                return None
            index = index_value[1] * mem.scale
        if base == "rsp":
            return ("stack", 0), self.stack_delta + mem.disp + index
        pointer = self.registers.get(_full_register(base or "") or "")
        if pointer is None:
            return None
        if pointer[0] == "heap":
            return ("heap", pointer[1]), mem.disp + index
        if pointer[0] == "stack":
            return ("stack", 0), pointer[1] + mem.disp + index
        return None

    def _is_rsp(self, insn: CsInsn, operand: Operand) -> bool:
        return bool(operand.type == X86_OP_REG and insn.reg_name(operand.reg) == "rsp")

    def _forget_written(self, insn: CsInsn) -> None:
        _, written = insn.regs_access()
        for reg in written:
            name = insn.reg_name(reg)
            full = _full_register(name)
            if full is not None:
                self.registers.pop(full, None)
            if name.startswith(("xmm", "ymm")):
                self.xmm.pop("xmm" + name[3:], None)


def _unsigned(immediate: int) -> int:
    """An immediate as the 64-bit pattern it puts in a register or in memory."""
    return int(immediate) & ((1 << 64) - 1)


_GENERAL = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp")


def _full_register(name: str) -> str | None:
    """The 64-bit register a sub-register belongs to (eax -> rax, r8d -> r8)."""
    numbered = name.rstrip("dwb")
    if name.startswith("r") and numbered[1:].isdigit():
        return numbered
    for full in _GENERAL:
        stem = full[1:]
        if name in (full, "e" + stem, stem, stem[0] + "l", stem + "l"):
            return full
    return None
