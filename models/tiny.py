"""Tiny ONNX voices with the exact signatures of real ones, for tests (no model can be downloaded here).

They do not speak: each plays a sine tone whose length and pitch follow the inputs, so tests can
prove the plumbing rather than shapes alone:

* duration = number of ids × hop × length_scale (hop 256 samples for Piper, 200 for MMS);
* pitch = 220 Hz × (1 + sid / 2) for Piper (speakers differ), 330 Hz for MMS;
* amplitude = 0.1 + 0.5 × noise_scale, so a noise override is audible in the output.

Deterministic, a few kB each. ``python -m models.tiny OUTDIR`` writes all three.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

PIPER_RATE = 22_050
MMS_RATE = 16_000
PIPER_HOP = 256
MMS_HOP = 200
PIPER_PITCH_HZ = 220.0
MMS_PITCH_HZ = 330.0
_OPSET = [helper.make_opsetid("", 17)]
_ID_MAP = Path(__file__).with_name("piper_phoneme_id_map.json")

# Khmer consonants, dependent vowels, signs, and the space; MMS vocabularies are character lists.
KHMER_TOKENS = ["_", " ", *"កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ", *"ាិីឹឺុូួើឿៀេែៃោៅំះ់្", "។"]


def _const(name: str, value: float | int | list[int], dtype: int = TensorProto.FLOAT) -> onnx.NodeProto:
    values = value if isinstance(value, list) else [value]
    dims = [len(values)] if isinstance(value, list) else []
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, dtype, dims, values))


def _tone_graph(
    ids: str,
    length_scale: str,
    noise_scale: str,
    hop: int,
    rate: int,
    pitch: str,
    output: str,
) -> list[onnx.NodeProto]:
    """Nodes: [B,T] ids → [B,1,N] sine, N = T·hop·length_scale, amplitude from noise_scale."""
    return [
        helper.make_node("Shape", [ids], ["ids_shape"]),
        _const("one_i", [1], TensorProto.INT64),
        _const("two_i", [2], TensorProto.INT64),
        _const("zero_i", [0], TensorProto.INT64),
        helper.make_node("Slice", ["ids_shape", "one_i", "two_i"], ["t_1d"]),
        helper.make_node("Slice", ["ids_shape", "zero_i", "one_i"], ["b_1d"]),
        helper.make_node("Cast", ["t_1d"], ["t_f"], to=TensorProto.FLOAT),
        _const("hop", float(hop)),
        helper.make_node("Mul", ["t_f", "hop"], ["t_hop"]),
        helper.make_node("Mul", ["t_hop", length_scale], ["n_f1"]),
        helper.make_node("Floor", ["n_f1"], ["n_floor"]),
        helper.make_node("Cast", ["n_floor"], ["n_1d"], to=TensorProto.INT64),
        helper.make_node("Squeeze", ["n_1d", "zero_i"], ["n"]),
        _const("start", 0.0),
        _const("step", 1.0),
        helper.make_node("Cast", ["n"], ["n_scalar_f"], to=TensorProto.FLOAT),
        helper.make_node("Range", ["start", "n_scalar_f", "step"], ["sample"]),
        _const("two_pi_over_rate", 2 * 3.141592653589793 / rate),
        helper.make_node("Mul", ["sample", "two_pi_over_rate"], ["phase0"]),
        helper.make_node("Mul", ["phase0", pitch], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        _const("amp_base", 0.1),
        _const("amp_scale", 0.5),
        helper.make_node("Mul", [noise_scale, "amp_scale"], ["amp_var"]),
        helper.make_node("Add", ["amp_var", "amp_base"], ["amp"]),
        helper.make_node("Mul", ["wave", "amp"], ["tone"]),
        helper.make_node("Concat", ["b_1d", "one_i", "n_1d"], ["out_shape"], axis=0),
        helper.make_node("Expand", ["tone", "out_shape"], [output]),
    ]


def piper_model(folder: Path, name: str = "vi_VN-tiny-medium", speakers: int = 1) -> Path:
    """``NAME.onnx`` + ``NAME.onnx.json`` in folder; multi-speaker when speakers > 1."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, ["B", "T"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, ["B"]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    nodes = [
        _const("i0", [0], TensorProto.INT64),
        _const("i1", [1], TensorProto.INT64),
        _const("i2", [2], TensorProto.INT64),
        helper.make_node("Slice", ["scales", "i0", "i1"], ["noise_scale"]),
        helper.make_node("Slice", ["scales", "i1", "i2"], ["length_scale"]),
        _const("base_pitch", PIPER_PITCH_HZ),
    ]
    if speakers > 1:
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, ["B"]))
        nodes += [
            helper.make_node("Slice", ["sid", "i0", "i1"], ["sid0"]),
            helper.make_node("Cast", ["sid0"], ["sid_f"], to=TensorProto.FLOAT),
            _const("half", 0.5),
            _const("unit", 1.0),
            helper.make_node("Mul", ["sid_f", "half"], ["sid_half"]),
            helper.make_node("Add", ["sid_half", "unit"], ["sid_factor"]),
            helper.make_node("Mul", ["base_pitch", "sid_factor"], ["pitch"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["base_pitch"], ["pitch"]))
    nodes += _tone_graph("input", "length_scale", "noise_scale", PIPER_HOP, PIPER_RATE, "pitch", "output")
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["B", 1, "N"])
    graph = helper.make_graph(nodes, "tiny_piper", inputs, [output])
    model = helper.make_model(graph, opset_imports=_OPSET, producer_name="loa-tiny")
    onnx.checker.check_model(model)
    path = folder / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    id_map = json.loads(_ID_MAP.read_text(encoding="utf-8"))
    names = [f"speaker_{i}" for i in range(speakers)] if speakers > 1 else []
    config = {
        "audio": {"sample_rate": PIPER_RATE, "quality": "medium"},
        "espeak": {"voice": "vi"},
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "num_symbols": 256,
        "num_speakers": speakers,
        "speaker_id_map": {n: i for i, n in enumerate(names)},
        "piper_version": "1.0.0",
        "language": {"code": "vi_VN", "family": "vi", "region": "VN"},
        "dataset": "tiny",
        "phoneme_id_map": id_map,
    }
    path.with_name(path.name + ".json").write_text(json.dumps(config, ensure_ascii=False, indent=1), "utf-8")
    return path


def mms_model(folder: Path, language: str = "khm", tokens: list[str] | None = None) -> Path:
    """``model.onnx`` + ``tokens.txt`` in folder, with sherpa-onnx's MMS metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.INT64, ["N", "L"]),
        helper.make_tensor_value_info("x_length", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("noise_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("length_scale", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("noise_scale_w", TensorProto.FLOAT, [1]),
    ]
    nodes = [_const("pitch", MMS_PITCH_HZ)]
    nodes += _tone_graph("x", "length_scale", "noise_scale", MMS_HOP, MMS_RATE, "pitch", "y")
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, "L"])
    graph = helper.make_graph(nodes, "tiny_mms", inputs, [output])
    model = helper.make_model(graph, opset_imports=_OPSET, producer_name="loa-tiny")
    meta = {
        "model_type": "vits",
        "comment": "mms",
        "url": "https://huggingface.co/facebook/mms-tts/tree/main",
        "add_blank": "1",
        "language": language,
        "frontend": "characters",
        "n_speakers": "1",
        "sample_rate": str(MMS_RATE),
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    symbols = tokens if tokens is not None else KHMER_TOKENS
    (folder / "tokens.txt").write_text("".join(f"{s} {i}\n" for i, s in enumerate(symbols)), "utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    for path in (
        piper_model(out / "piper-single"),
        piper_model(out / "piper-multi", "vi_VN-tinymulti-medium", speakers=3),
        mms_model(out / "mms-khm"),
    ):
        print(path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
