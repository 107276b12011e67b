"""embed_device: `auto` takes CUDA only where the engine can use it, `cuda` insists, `cpu` never probes."""

import pytest

from pipeline.embed_device import NodeAccelerators, choose_device, onnx_providers, probe
from pipeline.errors import Invalid

CPU_NODE = NodeAccelerators(torch_cuda=False, ort_providers=("CPUExecutionProvider",))
GPU_NODE_ORT_CPU_BUILD = NodeAccelerators(torch_cuda=True, ort_providers=("CPUExecutionProvider",))
GPU_NODE_ORT_GPU_BUILD = NodeAccelerators(torch_cuda=True, ort_providers=("CUDAExecutionProvider", "CPUExecutionProvider"))


def test_auto_takes_cuda_where_torch_sees_one_and_the_engine_can_use_it():
    assert choose_device("auto", "torch", GPU_NODE_ORT_CPU_BUILD) == "cuda"
    assert choose_device("auto", "onnx", GPU_NODE_ORT_GPU_BUILD) == "cuda"
    # The pinned onnxruntime wheel is the CPU build: a GPU node still runs ONNX on the CPU.
    assert choose_device("auto", "onnx", GPU_NODE_ORT_CPU_BUILD) == "cpu"
    assert choose_device("auto", "torch", CPU_NODE) == choose_device("auto", "onnx", CPU_NODE) == "cpu"


def test_cpu_is_always_cpu_and_cuda_fails_loudly_where_it_cannot_run():
    assert {choose_device("cpu", e, GPU_NODE_ORT_GPU_BUILD) for e in ("onnx", "torch")} == {"cpu"}
    assert choose_device("cuda", "torch", GPU_NODE_ORT_CPU_BUILD) == "cuda"
    with pytest.raises(Invalid, match="torch sees no CUDA device"):
        choose_device("cuda", "torch", CPU_NODE)
    with pytest.raises(Invalid, match="no CUDA provider"):
        choose_device("cuda", "onnx", GPU_NODE_ORT_CPU_BUILD)
    with pytest.raises(Invalid, match="embed_device must be one of"):
        choose_device("tpu", "onnx", CPU_NODE)


def test_onnx_keeps_the_cpu_provider_as_a_fallback():
    assert onnx_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]


def test_the_probe_reports_what_torch_and_onnxruntime_see_here():
    import onnxruntime
    import torch

    torch_choice = choose_device("auto", "torch", probe("torch"))
    assert torch_choice == ("cuda" if torch.cuda.is_available() else "cpu")
    onnx_node = probe("onnx")
    assert onnx_node.ort_providers == tuple(onnxruntime.get_available_providers())
    if "CUDAExecutionProvider" not in onnx_node.ort_providers:  # the pinned CPU build: torch is not even asked
        assert choose_device("auto", "onnx", onnx_node) == "cpu"
