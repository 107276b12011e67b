"""Which device the embedder runs on: the `embed_device` setting against what this node has.

`auto` takes CUDA when torch sees a CUDA device (and, for the ONNX engine, when ONNX Runtime was
built with its CUDA provider: the pinned `onnxruntime` wheel is the CPU build, so ONNX stays on the
CPU unless `onnxruntime-gpu` replaces it); `cuda` insists and fails at start-up if it cannot;
`cpu` never probes. The choice is pure (tests give it the node's facts); `probe` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import Invalid

DEVICES = ("auto", "cpu", "cuda")
ORT_CUDA = "CUDAExecutionProvider"


@dataclass(frozen=True)
class NodeAccelerators:
    """What this node offers an embedder: torch's view of CUDA, and ONNX Runtime's providers."""

    torch_cuda: bool
    ort_providers: tuple[str, ...]


def choose_device(setting: str, engine: str, node: NodeAccelerators) -> str:
    """`cuda` or `cpu` for an encoder of `engine` on this node."""
    if setting not in DEVICES:
        raise Invalid(f"embed_device must be one of {', '.join(DEVICES)}, got {setting!r}")
    if setting == "cpu":
        return "cpu"
    usable = node.torch_cuda and (engine == "torch" or ORT_CUDA in node.ort_providers)
    if setting == "cuda" and not usable:
        no_provider = engine == "onnx" and ORT_CUDA not in node.ort_providers
        why = "onnxruntime has no CUDA provider (the CPU build)" if no_provider else "torch sees no CUDA device"
        raise Invalid(f"embed_device is cuda but {why}; use embed_device=auto or cpu")
    return "cuda" if usable else "cpu"


def onnx_providers(device: str) -> list[str]:
    """ONNX Runtime's providers in order of preference (the CPU one always last, as a fallback)."""
    return [ORT_CUDA, "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]


def probe(engine: str) -> NodeAccelerators:
    """This node's facts. torch is imported only when its answer can matter: the ONNX engine without
    a CUDA provider runs on the CPU whatever torch sees, and never loads torch at run time."""
    providers: tuple[str, ...] = ()
    if engine == "onnx":
        import onnxruntime

        providers = tuple(onnxruntime.get_available_providers())
        if ORT_CUDA not in providers:
            return NodeAccelerators(False, providers)
    import torch

    return NodeAccelerators(bool(torch.cuda.is_available()), providers)
