#!/usr/bin/python3
"""tools/attn_capture.py against real torch modules: what it writes traces to PyTorch's numbers.

Usage: test_capture.py BINARY

Each case builds float64 modules (nn.MultiheadAttention, nn.TransformerEncoder, nn.Transformer),
captures one call of one attention module with attn_capture.capture, runs
`BINARY run FILE --format json`, and compares the trace's out_proj output, and its softmax
weights, with what the module itself returns for the same inputs, to 1e-9 (relative to the
larger of 1 and the number). The reference is computed by calling the module again, outside the
capture, with inputs built independently of the capture (a forward pre-hook for a layer inside a
model). Each refusal is checked too: the exception, the words that say why, and that no file was
written and the module's forward was restored. Prints one line per case and `N passed, M
failed`; exits 1 when any fails or when no case ran. Needs Debian's python3-torch (run with
/usr/bin/python3).
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import traceback
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from attn_capture import CaptureError, capture  # noqa: E402

torch.set_default_dtype(torch.float64)
TOLERANCE = 1e-9
BINARY = None
WORK = None
CASES = []


def case(function):
    CASES.append(function)
    return function


# ---------------------------------------------------------------------------------------------
# Helpers


def path(name):
    return os.path.join(WORK, name)


def strict_json(text):
    def refuse(constant):
        raise AssertionError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def trace(file):
    """The JSON export of `attn-trace run FILE`, after checking the file is strict JSON."""
    with open(file, encoding="utf-8") as f:
        strict_json(f.read())
    run = subprocess.run([BINARY, "run", file, "--format", "json"], capture_output=True, text=True)
    assert run.returncode == 0, f"attn-trace run {file} exited {run.returncode}: {run.stderr}"
    return strict_json(run.stdout)


def tensor(document, stage, name):
    for s in document["stages"]:
        if s["id"] == stage:
            for t in s["tensors"]:
                if t["name"] == name:
                    return t
    raise AssertionError(f"the trace has no {stage}.{name}")


def as_tensor(data):
    def number(value):
        return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}.get(value, value)

    def walk(value):
        return [walk(v) for v in value] if isinstance(value, list) else number(value)
    return torch.tensor(walk(data), dtype=torch.float64)


def assert_close(traced, reference, what):
    reference = reference.detach().double()
    assert tuple(traced.shape) == tuple(reference.shape), \
        f"{what}: traced shape {tuple(traced.shape)}, PyTorch's {tuple(reference.shape)}"
    assert traced.numel() > 0, f"{what}: nothing to compare"
    both_nan = torch.isnan(traced) & torch.isnan(reference)
    difference = (traced - reference).abs().masked_fill(both_nan, 0)
    allowed = TOLERANCE * reference.abs().clamp(min=1).masked_fill(both_nan, 1)
    worst = float((difference / allowed).max())
    assert worst <= 1, f"{what}: differs from PyTorch's by {float(difference.max()):.3g}"


def check(file, output, weights=None, published=True):
    """The trace of `file` has PyTorch's output (and per-head weights), in the file's layout."""
    document = trace(file)
    assert_close(as_tensor(tensor(document, "out_proj", "output")["data"]), output, "output")
    if weights is not None:
        assert_close(as_tensor(tensor(document, "softmax", "weights")["data"]), weights, "weights")
    if published:
        checks = document.get("published", [])
        assert any(c["stage"] == "out_proj" for c in checks), "no published output in the file"
        assert all(c["matches"] for c in checks), f"published values differ: {checks}"
    return document


def read(file):
    with open(file, encoding="utf-8") as f:
        return strict_json(f.read())


def refused(words, action, file=None):
    """action() raises a CaptureError whose message holds every one of `words`; no file left."""
    try:
        action()
    except CaptureError as error:
        message = str(error)
        for word in words:
            assert word in message, f"the message {message!r} does not say {word!r}"
    else:
        raise AssertionError(f"no CaptureError (expected one saying {words})")
    if file is not None:
        leftovers = [f for f in os.listdir(os.path.dirname(file) or ".")
                     if os.path.basename(file) in f]
        assert not leftovers, f"files left behind: {leftovers}"
    return message


def mha(*args, **kwargs):
    torch.manual_seed(len(CASES) + sum(args))
    module = torch.nn.MultiheadAttention(*args, **kwargs).eval()
    with torch.no_grad():  # nonzero biases, so that every weight matters
        for name, parameter in module.named_parameters():
            if "bias" in name:
                parameter.normal_()
    return module


def forward_restored(module):
    assert "forward" not in module.__dict__, "the module's forward was not restored"


# ---------------------------------------------------------------------------------------------
# Traces that must equal PyTorch's numbers


@case
def encoder_layer1_batch_first_fused():
    """nn.TransformerEncoder layer 1, batch_first, eval, no_grad: the fused encoder-layer kernel,
    which never calls self_attn.forward."""
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2).double().eval()
    src = torch.randn(2, 5, 8)
    seen = []
    hook = encoder.layers[1].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad(), capture(encoder.layers[1].self_attn, path("enc1.json"),
                                  tokens=[["a", "b", "c", "d", "e"], ["f", "g", "h", "i", "j"]]):
        encoder(src)
    hook.remove()
    forward_restored(encoder.layers[1].self_attn)
    x = seen[0]
    output, weights = encoder.layers[1].self_attn(x, x, x, average_attn_weights=False)
    check(path("enc1.json"), output, weights, published=False)  # the kernel has no output apart
    assert read(path("enc1.json"))["tokens"][1][0] == "f"


@case
def encoder_layer1_norm_first_fused():
    """norm_first: the fused kernel's self-attention input is norm1(src)."""
    torch.manual_seed(2)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).double().eval()
    src = torch.randn(1, 4, 8)
    seen = []
    hook = encoder.layers[1].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad(), capture(encoder.layers[1].self_attn, path("norm_first.json")):
        encoder(src)
    hook.remove()
    x = encoder.layers[1].norm1(seen[0])
    output, weights = encoder.layers[1].self_attn(x, x, x, average_attn_weights=False)
    check(path("norm_first.json"), output[0], weights[0], published=False)


@case
def encoder_layer1_sequence_first_with_padding():
    """batch_first=False: (L, B, E) in PyTorch, (B, L, E) in the file; src_key_padding_mask."""
    torch.manual_seed(3)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16)
    encoder = torch.nn.TransformerEncoder(layer, 2).double().eval()
    src = torch.randn(5, 2, 8)
    padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    seen = []
    hook = encoder.layers[1].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with capture(encoder.layers[1].self_attn, path("enc_seq.json")):
        encoder(src, src_key_padding_mask=padding)
    hook.remove()
    x = seen[0]
    output, weights = encoder.layers[1].self_attn(x, x, x, key_padding_mask=padding,
                                                  average_attn_weights=False)
    check(path("enc_seq.json"), output.transpose(0, 1), weights)
    written = read(path("enc_seq.json"))
    assert (len(written["input"]), len(written["input"][0])) == (2, 5), "not written (B, L, E)"
    assert written["key_padding_mask"] == padding.tolist()


def transformer():
    torch.manual_seed(4)
    model = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                                 dim_feedforward=16).double().eval()
    src, tgt = torch.randn(6, 2, 8), torch.randn(4, 2, 8)   # (S, B, E), (L, B, E)
    return model, src, tgt


@case
def decoder_cross_attention():
    """nn.Transformer's decoder layer 1 cross-attention, with memory_key_padding_mask."""
    model, src, tgt = transformer()
    memory_padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    seen = []
    hook = model.decoder.layers[1].register_forward_pre_hook(lambda m, args: seen.append(args))
    attention = model.decoder.layers[1].multihead_attn
    with capture(attention, path("cross.json"), kv_tokens="le chat est assis sur .".split()):
        model(src, tgt, memory_key_padding_mask=memory_padding)
    hook.remove()
    x, memory = seen[0][0], seen[0][1]
    x = model.decoder.layers[1].norm1(x + model.decoder.layers[1]._sa_block(x, None, None))
    output, weights = attention(x, memory, memory, key_padding_mask=memory_padding,
                                average_attn_weights=False)
    check(path("cross.json"), output.transpose(0, 1), weights)
    document = read(path("cross.json"))
    assert "kv_input" in document and "key_input" not in document
    assert document["kv_tokens"][0] == "le"


@case
def decoder_causal_self_attention():
    """nn.Transformer's decoder self-attention with generate_square_subsequent_mask (-inf)."""
    model, src, tgt = transformer()
    causal = model.generate_square_subsequent_mask(4).double()
    seen = []
    hook = model.decoder.layers[0].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    attention = model.decoder.layers[0].self_attn
    with capture(attention, path("causal.json"), tokens="the cat sat down"):
        model(src, tgt, tgt_mask=causal)
    hook.remove()
    output, weights = attention(seen[0], seen[0], seen[0], attn_mask=causal,
                                average_attn_weights=False)
    check(path("causal.json"), output.transpose(0, 1), weights)
    assert read(path("causal.json"))["attn_mask"][0] == [0.0, "-inf", "-inf", "-inf"]


def direct(module, file, query, key, value, weights_wanted=True, **kwargs):
    """Capture module(query, key, value, **kwargs) called directly; compare with a second call."""
    with capture(module, path(file)):
        module(query, key, value, **kwargs)
    forward_restored(module)
    kwargs = dict(kwargs, need_weights=True, average_attn_weights=False)
    output, weights = module(query, key, value, **kwargs)
    if query.dim() == 3 and not module.batch_first:
        output, weights = output.transpose(0, 1), weights
    if query.dim() == 3 and output.shape[0] == 1:       # a batch of one is written unbatched
        output, weights = output[0], weights[0]
    if module.num_heads == 1:                           # one head: the trace has no head axis
        weights = weights.squeeze(-3)
    return check(path(file), output, weights if weights_wanted else None)


@case
def bool_attn_mask_and_padding():
    m = mha(8, 2, batch_first=True)
    x = torch.randn(3, 4, 8)
    attn_mask = torch.rand(4, 4) > 0.6
    attn_mask.fill_diagonal_(False)
    padding = torch.tensor([[False] * 4, [False, False, True, False], [False, True, True, False]])
    direct(m, "bool.json", x, x, x, attn_mask=attn_mask, key_padding_mask=padding)


@case
def float_attn_mask():
    m = mha(6, 3)
    x = torch.randn(5, 2, 6)                              # (L, B, E)
    attn_mask = torch.randn(5, 5)
    attn_mask[0, 3] = attn_mask[2, 1] = -math.inf
    direct(m, "float.json", x, x, x, attn_mask=attn_mask)
    assert "-inf" in read(path("float.json"))["attn_mask"][0]


@case
def per_head_3d_masks():
    """(B·H, L, S) boolean and float masks, batched and (H, L, S) for a batch of one."""
    m = mha(8, 2, batch_first=True)
    x, memory = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    mask = torch.rand(4, 3, 5) > 0.5
    mask[:, :, 0] = False
    direct(m, "mask3d_bool.json", x, memory, memory, attn_mask=mask)
    float_mask = torch.randn(2, 3, 5).masked_fill(torch.rand(2, 3, 5) > 0.7, -math.inf)
    float_mask[:, :, 1] = 0.5
    direct(m, "mask3d_one.json", x[:1], memory[:1], memory[:1], attn_mask=float_mask)
    assert len(read(path("mask3d_one.json"))["attn_mask"]) == 2


@case
def float_key_padding_mask():
    """A float key_padding_mask, added to the scores by PyTorch: written as a float attn_mask;
    next to a boolean attn_mask, PyTorch or-s it in: written as booleans."""
    m = mha(4, 2)
    x = torch.randn(3, 2, 4)
    padding = torch.tensor([[0.0, -0.5, 0.0], [0.0, 0.0, -math.inf]])
    direct(m, "float_padding.json", x, x, x, key_padding_mask=padding)
    assert len(read(path("float_padding.json"))["attn_mask"]) == 4   # (B·H, L, S)
    direct(m, "float_padding_one.json", x[:, :1], x[:, :1], x[:, :1], key_padding_mask=padding[:1])
    causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), 1)
    direct(m, "float_padding_bool.json", x, x, x, key_padding_mask=padding, attn_mask=causal)
    assert read(path("float_padding_bool.json"))["key_padding_mask"][1] == [False, False, True]


@case
def kdim_vdim_cross_attention():
    m = mha(6, 2, kdim=3, vdim=5, batch_first=True)
    q, k, v = torch.randn(2, 4, 6), torch.randn(2, 3, 3), torch.randn(2, 3, 5)
    direct(m, "kdim.json", q, k, v, key_padding_mask=torch.tensor([[False] * 3, [True, False, False]]))
    document = read(path("kdim.json"))
    assert "key_input" in document and "value_input" in document
    assert "q_proj_weight" in document["weights"] and "in_proj_weight" not in document["weights"]


@case
def add_bias_kv_and_add_zero_attn():
    m = mha(4, 2, add_bias_kv=True, add_zero_attn=True)
    x, memory = torch.randn(3, 4), torch.randn(2, 4)      # unbatched
    direct(m, "extra.json", x, memory, memory, attn_mask=torch.tensor([[False, True]] * 3))
    document = read(path("extra.json"))
    assert document["add_zero_attn"] is True and "bias_k" in document["weights"]


@case
def need_weights_false_and_no_bias():
    m = mha(4, 1, bias=False, batch_first=True)
    x = torch.randn(1, 3, 4)
    direct(m, "no_weights.json", x, x, x, need_weights=False)
    document = read(path("no_weights.json"))
    assert "softmax" not in document.get("published", {}) and "in_proj_bias" not in document["weights"]
    assert len(document["input"]) == 3, "a batch of one is written as (L, E)"


@case
def one_head_average_weights_published():
    """With one head, the averaged weights PyTorch returns are the head's: published too."""
    m = mha(4, 1)
    x = torch.randn(3, 4)
    document = direct(m, "one_head.json", x, x, x)
    assert all(c["decimals"] >= 9 for c in document["published"]), document["published"]
    assert {c["stage"] for c in document["published"]} == {"softmax", "out_proj"}
    document = direct(m, "one_head_per_head.json", x, x, x, average_attn_weights=False)
    assert {c["stage"] for c in document["published"]} == {"softmax", "out_proj"}


@case
def float32_model_published_to_4_decimals():
    m = mha(8, 2, batch_first=True).float()
    x = torch.randn(1, 5, 8, dtype=torch.float32)
    with capture(m, path("float32.json")):
        m(x, x, x)
    document = trace(path("float32.json"))
    checks = document["published"]
    # float32 numbers to 1e-4 of the largest: 4 decimals, 3 when the largest is over 1.
    assert checks and all(c["matches"] and c["decimals"] in (3, 4) for c in checks), checks
    assert read(path("float32.json"))["input"][0][0] == float(x[0, 0, 0])   # exact


@case
def second_call_and_warning():
    m = mha(4, 2)
    a, b = torch.randn(3, 4), torch.randn(2, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with capture(m, path("second.json"), call=2):
            m(a, a, a)
            m(b, b, b)
            m(a, a, a)
    assert any("3 times" in str(w.message) and "call 2" in str(w.message) for w in caught), \
        [str(w.message) for w in caught]
    output, weights = m(b, b, b, average_attn_weights=False)
    check(path("second.json"), output, weights)


# ---------------------------------------------------------------------------------------------
# Refusals


@case
def refuses_a_module_that_is_not_attention():
    refused(["cannot capture a Linear", "nn.MultiheadAttention only", "self_attn"],
            lambda: capture(torch.nn.Linear(4, 4), path("linear.json")))


@case
def refuses_a_subclass_with_its_own_forward():
    class Scaled(torch.nn.MultiheadAttention):
        def forward(self, query, key, value, **kwargs):
            output, weights = super().forward(query, key, value, **kwargs)
            return 2 * output, weights
    refused(["cannot capture a Scaled", "overrides", "forward"],
            lambda: capture(Scaled(4, 2), path("subclass.json")))


@case
def refuses_dropout_in_training_mode():
    m = torch.nn.MultiheadAttention(4, 2, dropout=0.1)   # training mode by default
    x = torch.randn(3, 4)

    def run():
        with capture(m, path("dropout.json")):
            m(x, x, x)
    refused(["training mode", "dropout=0.1", "model.eval()"], run, path("dropout.json"))
    forward_restored(m)
    m.dropout = 0.0                                      # training without dropout is fine
    direct(m, "train_no_dropout.json", x, x, x)


@case
def refuses_a_capture_that_never_fired():
    m = mha(4, 2)

    def run():
        with capture(m, path("never.json")):
            pass
    refused(["without a call", "print(model)"], run, path("never.json"))
    forward_restored(m)

    def too_few():
        with capture(m, path("never.json"), call=3):
            x = torch.randn(2, 4)
            m(x, x, x)
    refused(["called once", "no call 3"], too_few, path("never.json"))


@case
def refuses_nan_and_inf():
    m = mha(4, 2)
    x = torch.randn(3, 4)
    x[1, 2] = math.nan

    def nan_input():
        with capture(m, path("nan.json")):
            m(x, x, x)
    refused(["query input", "nan or inf"], nan_input, path("nan.json"))
    m2 = mha(4, 2)
    with torch.no_grad():
        m2.out_proj.weight[0, 0] = math.inf
    y = torch.randn(3, 4)

    def inf_weight():
        with capture(m2, path("inf.json")):
            m2(y, y, y)
    refused(["out_proj.weight", "nan or inf"], inf_weight, path("inf.json"))
    mask = torch.zeros(3, 3)
    mask[0, 1] = math.inf

    def inf_mask():
        with capture(m, path("inf_mask.json")):
            m(y, y, y, attn_mask=mask)
    refused(["attn_mask", "+inf", "-inf"], inf_mask, path("inf_mask.json"))


@case
def refuses_nested_tensors():
    torch.manual_seed(5)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2).double().eval()
    src = torch.randn(2, 5, 8)
    padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # PyTorch's "nested tensors are a prototype"
            with torch.no_grad(), capture(encoder.layers[0].self_attn, path("nested.json")):
                encoder(src, src_key_padding_mask=padding)
    refused(["nested", "enable_nested_tensor=False"], run, path("nested.json"))
    assert torch._transformer_encoder_layer_fwd.__name__ == "_transformer_encoder_layer_fwd"


@case
def refuses_a_file_it_cannot_write():
    m = mha(4, 2)
    missing = path("no/such/folder/x.json")
    refused(["does not exist"], lambda: capture(m, missing).__enter__())
    forward_restored(m)
    refused(["is a directory"], lambda: capture(m, WORK).__enter__())
    forward_restored(m)


@case
def a_folder_gone_before_the_end_writes_nothing():
    m = mha(4, 2)
    x = torch.randn(3, 4)
    folder = path("gone")
    os.mkdir(folder)

    def run():
        with capture(m, os.path.join(folder, "x.json")):
            m(x, x, x)
            os.rmdir(folder)
    refused(["cannot write", "x.json"], run)
    forward_restored(m)
    assert not os.path.exists(folder)


@case
def refuses_labels_that_do_not_fit():
    m = mha(4, 2)
    x, memory = torch.randn(3, 4), torch.randn(2, 4)

    def wrong_count():
        with capture(m, path("labels.json"), tokens="a b"):
            m(x, x, x)
    refused(["tokens has 2 labels", "3 query tokens"], wrong_count, path("labels.json"))

    def kv_in_self_attention():
        with capture(m, path("labels.json"), kv_tokens="a b c"):
            m(x, x, x)
    refused(["self-attention", "tokens only"], kv_in_self_attention, path("labels.json"))

    def kv_count():
        with capture(m, path("labels.json"), kv_tokens="a b c"):
            m(x, memory, memory)
    refused(["kv_tokens has 3 labels", "2 key tokens"], kv_count, path("labels.json"))


@case
def exception_in_the_block_writes_nothing():
    m = mha(4, 2)
    x = torch.randn(3, 4)
    try:
        with capture(m, path("raised.json")):
            m(x, x, x)
            raise KeyError("the user's own error")
    except KeyError:
        pass
    else:
        raise AssertionError("the exception did not go on")
    forward_restored(m)
    assert not os.path.exists(path("raised.json"))


@case
def replaces_an_existing_file_whole():
    m = mha(4, 2)
    x = torch.randn(3, 4)
    with open(path("replace.json"), "w") as f:
        f.write("old")
    direct(m, "replace.json", x, x, x)
    assert [f for f in os.listdir(WORK) if f.startswith(".replace.json")] == []


def main():
    global BINARY, WORK
    if len(sys.argv) != 2:
        print("usage: test_capture.py BINARY", file=sys.stderr)
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        WORK = work
        for function in CASES:
            try:
                function()
            except Exception:  # a failed case is reported and the others still run
                failed += 1
                print(f"FAIL: {function.__name__}")
                traceback.print_exc()
            else:
                passed += 1
                print(f"ok: {function.__name__}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
