"""Capture one call of an nn.MultiheadAttention inside a PyTorch model as an attn-trace input file.

Copy this file next to your code (it needs only torch and Python's standard library), then:

    from attn_capture import capture

    with capture(model.decoder.layers[0].multihead_attn, "cross.json",
                 tokens=["the", "cat", "sat"], kv_tokens=["le", "chat", "assis"]):
        model(src, tgt)

and trace it:

    attn-trace run cross.json

The with-block records the module's next forward call: the query, key and value it received
(whatever code called it: nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.Transformer
or your own), the attn_mask and key_padding_mask it was given (the causal mask nn.Transformer
passes included), and its weights at that moment. On leaving the block it writes one complete
input file (docs/input-format.md): `input`, `kv_input` or `key_input` and `value_input` for
cross-attention, `weights` under PyTorch's own names, `num_heads`, `add_zero_attn`, the masks
(a float mask's -inf written "-inf", so the file is strict JSON), the tokens, and PyTorch's own
output under `published`, so the walkthrough says whether it reproduces it (to about 1e-10 of
its largest number in float64, 1e-4 in float32).

Layout: the file holds batched inputs as (B, L, E) whatever the module's batch_first, and a
batch of one as (L, E), since a single sequence reads best without a batch axis (its masks lose
the batch axis too: key_padding_mask (1, S) becomes (S), a 3-D attn_mask (1·H, L, S) is (H, L, S),
the unbatched form). For numbers that match PyTorch's to the last digit, run the model in
float64 (`model.double()`); float32 weights are written exactly, and attn-trace computes in
float64.

What it refuses, with a CaptureError that says what to do: a module that is not an
nn.MultiheadAttention; a module in training mode with dropout > 0 (its output is random: call
model.eval()); a block that ends without the call being made; inputs, weights or masks holding
nan or inf (-inf is fine in a float mask); is_causal without a mask (newer PyTorch); nested
tensors; a file that cannot be written (checked before the block runs; the file is written to
a temporary file and renamed, so it is never half-written). When the block raises, nothing is
written and the exception goes on. When the module is called more than once, the first call is
recorded (or the one `call=` names) and a warning says how many there were.

PyTorch 1.13's nn.TransformerEncoderLayer, in eval mode without gradients, runs a fused kernel
(torch._transformer_encoder_layer_fwd) that never calls self_attn.forward; the capture records
that call from the kernel's own arguments, so it works there too. (A PyTorch that has
torch.backends.mha.set_fastpath_enabled, 2.3 or so on, gets that fast path switched off for the
duration instead.) Tested with PyTorch 1.13, Debian 12's, by tests/python/test_capture.py.
"""

import inspect
import json
import math
import os
import tempfile
import warnings

import torch
import torch.nn.functional as F

__all__ = ["capture", "CaptureError"]


class CaptureError(RuntimeError):
    """A call that cannot become an attn-trace input file; the message says what to do."""


def capture(module, path, tokens=None, kv_tokens=None, *, call=1, name=None):
    """Record call number `call` (1 = the next) of `module` inside the with-block into `path`.

    module     an nn.MultiheadAttention, e.g. model.encoder.layers[1].self_attn
    path       the input file to write, e.g. "layer1.json" (replaced if it exists)
    tokens     labels of the L query tokens: a list of strings, a string of space-separated
               words, or for a batch one list per sequence
    kv_tokens  labels of the S key tokens, in cross-attention only
    call       which call to record, counted from 1 inside the block
    name       a title for the walkthrough's header

    Returns a context manager; the file is written when the block ends without an exception.
    Example:

        with capture(model.encoder.layers[1].self_attn, "layer1.json", tokens="the cat sat"):
            model(src, tgt)
    """
    return _Capture(module, path, tokens, kv_tokens, call, name)


# ---------------------------------------------------------------------------------------------
# What one call gave the module, in attn-trace's layout: inputs (B, L, E) or unbatched (L, E).


class _Call:
    def __init__(self, query, key, value, batched, attn_mask, key_padding_mask, weights):
        self.query, self.key, self.value = query, key, value
        self.batched = batched
        self.attn_mask, self.key_padding_mask = attn_mask, key_padding_mask
        self.weights = weights      # the module's parameters at the time of the call
        self.self_attention = _same(query, key) and _same(key, value)
        self.shared_kv = _same(key, value)
        self.output = None          # PyTorch's output, laid out as the trace's `output`
        self.attention = None       # PyTorch's per-head attention weights, likewise


def _same(a, b):
    return a is b or (a.shape == b.shape and torch.equal(a, b))


def _copy(tensor):
    return None if tensor is None else tensor.detach().cpu().clone()


def _parameters(module):
    """The module's weights under the names attn-trace reads (PyTorch's state_dict names)."""
    names = ["in_proj_weight"] if module._qkv_same_embed_dim else [
        "q_proj_weight", "k_proj_weight", "v_proj_weight"]
    names += ["in_proj_bias", "bias_k", "bias_v"]
    weights = {n: getattr(module, n) for n in names if getattr(module, n) is not None}
    weights["out_proj.weight"] = module.out_proj.weight
    if module.out_proj.bias is not None:
        weights["out_proj.bias"] = module.out_proj.bias
    return {n: _copy(t) for n, t in weights.items()}


class _Capture:
    def __init__(self, module, path, tokens, kv_tokens, call, name):
        if not isinstance(module, torch.nn.MultiheadAttention):
            raise CaptureError(
                f"cannot capture a {type(module).__name__}: attn-trace traces "
                "nn.MultiheadAttention only; pass the attention module itself, e.g. "
                "model.encoder.layers[0].self_attn or model.decoder.layers[0].multihead_attn")
        if type(module).forward is not torch.nn.MultiheadAttention.forward:
            raise CaptureError(
                f"cannot capture a {type(module).__name__}: it overrides "
                "nn.MultiheadAttention.forward, so what it computes is not known; capture "
                "an nn.MultiheadAttention whose forward is PyTorch's own")
        if isinstance(call, bool) or not isinstance(call, int) or call < 1:
            raise CaptureError(f"call={call!r}: expected a whole number ≥ 1 (1 = the first call)")
        self.module, self.path, self.call, self.name = module, os.fspath(path), call, name
        self.tokens, self.kv_tokens = _labels(tokens, "tokens"), _labels(kv_tokens, "kv_tokens")
        self.calls = 0
        self.recorded = None
        self._restore = []

    # -- the with-block ---------------------------------------------------------------------

    def __enter__(self):
        _check_writable(self.path)
        self._patch_forward()
        self._patch_fast_path()
        return self

    def __exit__(self, exc_type, exc, tb):
        while self._restore:
            self._restore.pop()()
        if exc_type is not None:
            return False
        where = f"{type(self.module).__name__}.forward"
        if self.recorded is None and self.calls == 0:
            raise CaptureError(
                f"nothing to write to {self.path}: the with-block ended without a call of "
                f"{where}; call the model inside the block, and check that the module you "
                "passed is the one it uses (print(model) lists them)")
        if self.recorded is None:
            raise CaptureError(
                f"nothing to write to {self.path}: the module was called {_times(self.calls)}, "
                f"so there was no call {self.call}; pass call=1 … call={self.calls}")
        if self.calls > self.call:
            warnings.warn(
                f"attn_capture: the module was called {_times(self.calls)} in the with-block; "
                f"{self.path} holds call {self.call} (choose another with call=N)", stacklevel=2)
        _write_atomically(self.path, _dumps(self._document()) + "\n")
        return False

    def _patch_forward(self):
        module = self.module
        had_own = "forward" in module.__dict__
        original = module.forward
        signature = inspect.signature(original)

        def forward(*args, **kwargs):
            self.calls += 1
            if self.calls != self.call:
                return original(*args, **kwargs)
            arguments = signature.bind(*args, **kwargs)
            arguments.apply_defaults()
            recorded = self._record_forward(arguments.arguments)
            result = original(*args, **kwargs)
            self._keep_results(recorded, arguments.arguments, result)
            self.recorded = recorded
            return result

        module.forward = forward

        def restore():
            if had_own:
                module.forward = original
            else:
                del module.forward
        self._restore.append(restore)

    def _patch_fast_path(self):
        """Make sure a fused encoder-layer kernel cannot run the module unseen."""
        mha_backend = getattr(torch.backends, "mha", None)
        if mha_backend is not None and hasattr(mha_backend, "set_fastpath_enabled"):
            was = mha_backend.get_fastpath_enabled()
            mha_backend.set_fastpath_enabled(False)
            self._restore.append(lambda: mha_backend.set_fastpath_enabled(was))
            return
        fused = getattr(torch, "_transformer_encoder_layer_fwd", None)
        if fused is None:
            return

        def encoder_layer(*args, **kwargs):
            weight = self.module.in_proj_weight
            if weight is not None and len(args) > 11 and args[3] is weight:
                self.calls += 1
                if self.calls == self.call:
                    self.recorded = self._record_fused(args)
            return fused(*args, **kwargs)

        torch._transformer_encoder_layer_fwd = encoder_layer

        def restore():
            torch._transformer_encoder_layer_fwd = fused
        self._restore.append(restore)

    # -- recording ----------------------------------------------------------------------------

    def _refuse_unrepresentable(self, query):
        module = self.module
        if module.training and module.dropout > 0:
            raise CaptureError(
                f"cannot capture a module in training mode with dropout={module.dropout}: "
                "dropout zeroes random attention weights, so its output cannot be traced; "
                "call model.eval() before the with-block")
        if getattr(query, "is_nested", False):
            raise CaptureError(
                "cannot capture nested tensors (nn.TransformerEncoder packs a padded batch "
                "into one when it runs without gradients in eval mode): build the encoder with "
                "enable_nested_tensor=False, or run the model outside torch.no_grad()")

    def _record_forward(self, a):
        query, key, value = a["query"], a["key"], a["value"]
        self._refuse_unrepresentable(query)
        if a.get("is_causal") and a.get("attn_mask") is None:
            raise CaptureError(
                "cannot capture is_causal=True without an attn_mask: the mask it stands for "
                "is not in the call; pass attn_mask=nn.Transformer.generate_square_subsequent_"
                "mask(L) with it")
        batched = query.dim() == 3
        query_is_key, key_is_value = query is key, key is value
        if batched and not self.module.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        inputs = [_copy(t) for t in (query, key, value)]
        if query_is_key:
            inputs[1] = inputs[0]
        if key_is_value:
            inputs[2] = inputs[1]
        return _Call(*inputs, batched, _copy(a.get("attn_mask")),
                     _copy(a.get("key_padding_mask")), _parameters(self.module))

    def _keep_results(self, recorded, a, result):
        output, attention = result
        if recorded.batched and not self.module.batch_first:
            output = output.transpose(0, 1)
        recorded.output = _copy(output)
        averaged = a.get("average_attn_weights", True)
        if attention is not None and self.module.num_heads == 1 and not averaged:
            attention = attention.squeeze(-3)   # the trace has no head axis for one head
        if attention is not None and (not averaged or self.module.num_heads == 1):
            recorded.attention = _copy(attention)

    def _record_fused(self, args):
        """The self-attention input of torch._transformer_encoder_layer_fwd(src, embed_dim,
        num_heads, in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias, use_gelu,
        norm_first, eps, norm1.weight, norm1.bias, …, mask, mask_type): src (B, L, E), after
        norm1 when norm_first; mask_type 1 is a key_padding_mask, 0 an attn_mask."""
        src, norm_first, eps, norm_weight, norm_bias = args[0], args[8], args[9], args[10], args[11]
        self._refuse_unrepresentable(src)
        x = F.layer_norm(src, (src.shape[-1],), norm_weight, norm_bias, eps) if norm_first else src
        mask, mask_type = args[-2], args[-1]
        x = _copy(x)
        return _Call(x, x, x, True, _copy(mask) if mask_type == 0 else None,
                     _copy(mask) if mask_type == 1 else None, _parameters(self.module))

    # -- the document -----------------------------------------------------------------------

    def _document(self):
        c, module = self.recorded, self.module
        squeeze = c.batched and c.query.shape[0] == 1
        batched = c.batched and not squeeze

        def lay_out(t):
            return t[0] if squeeze and t is not None else t

        doc = {"name": self.name or f"{_describe(module)}, captured"}
        kind = ("self-attention" if c.self_attention else "cross-attention")
        doc["description"] = (
            f"Call {self.call} of {_describe(module, full=True)}: {kind}, captured with its "
            "inputs, masks and weights by attn_capture.py.")
        doc["source"] = f"PyTorch {torch.__version__}, tools/attn_capture.py"
        _check_finite(c.query, "the query input")
        doc["input"] = _tolist(lay_out(c.query))
        tokens = _fit_labels(self.tokens, "tokens", c.query, batched, squeeze)
        if tokens is not None:
            doc["tokens"] = tokens
        if c.self_attention:
            if self.kv_tokens is not None:
                raise CaptureError(
                    "kv_tokens was given, but the call was self-attention (query, key and "
                    "value the same tensor): its keys are the query tokens; pass tokens only")
        else:
            self._cross_inputs(doc, c, lay_out, batched, squeeze)
        doc["num_heads"] = module.num_heads
        for key, tensor in c.weights.items():
            _check_finite(tensor, f"the weight {key}")
        doc["weights"] = {key: _tolist(t) for key, t in c.weights.items()}
        if module.add_zero_attn:
            doc["add_zero_attn"] = True
        doc.update(_masks(c, module.num_heads, lay_out))
        published = _published(c, lay_out)
        if published:
            doc["published"] = published
        return doc

    def _cross_inputs(self, doc, c, lay_out, batched, squeeze):
        _check_finite(c.key, "the key input")
        if c.shared_kv:
            doc["kv_input"] = _tolist(lay_out(c.key))
        else:
            _check_finite(c.value, "the value input")
            doc["key_input"] = _tolist(lay_out(c.key))
            doc["value_input"] = _tolist(lay_out(c.value))
        kv_tokens = _fit_labels(self.kv_tokens, "kv_tokens", c.key, batched, squeeze)
        if kv_tokens is not None:
            doc["kv_tokens"] = kv_tokens


def _describe(module, full=False):
    text = f"nn.MultiheadAttention({module.embed_dim}, {module.num_heads}"
    if full:
        if module.kdim != module.embed_dim or module.vdim != module.embed_dim:
            text += f", kdim={module.kdim}, vdim={module.vdim}"
        if module.bias_k is not None:
            text += ", add_bias_kv=True"
        if module.add_zero_attn:
            text += ", add_zero_attn=True"
        if module.batch_first:
            text += ", batch_first=True"
    return text + ")"


def _times(n):
    return "once" if n == 1 else f"{n} times"


# ---------------------------------------------------------------------------------------------
# Masks. attn-trace reads PyTorch's conventions as they are: attn_mask booleans (true = blocked)
# or numbers added to the scaled scores, (L, S) or (B·H, L, S); key_padding_mask booleans
# (true = ignored), (S) or (B, S). A float key_padding_mask, which PyTorch 1.13 adds to the
# scores, has no place there, so it is written the way PyTorch merges it.


def _masks(c, heads, lay_out):
    out = {}
    attn_mask, padding = c.attn_mask, c.key_padding_mask
    if attn_mask is not None and attn_mask.dtype == torch.uint8:
        attn_mask = attn_mask.bool()    # PyTorch's deprecated byte mask: nonzero = blocked
    if padding is not None and padding.dtype != torch.bool:
        if attn_mask is None:
            attn_mask, padding = _padding_as_attn_mask(padding, c, heads), None
        elif attn_mask.dtype == torch.bool and not hasattr(F, "_canonical_mask"):
            padding = padding != 0      # PyTorch 1.x or-s it into the boolean attn_mask
        else:
            raise CaptureError(
                "cannot capture a float key_padding_mask together with an attn_mask: PyTorch "
                "versions merge the two differently; pass a boolean key_padding_mask "
                "(true = padding)")
    if attn_mask is not None:
        # (B·H, L, S) with B = 1 is already the unbatched (H, L, S).
        out["attn_mask"] = _mask_list(attn_mask, "attn_mask")
    if padding is not None:
        out["key_padding_mask"] = _mask_list(lay_out(padding), "key_padding_mask")
    return out


def _padding_as_attn_mask(padding, c, heads):
    """A float key_padding_mask (B, S) or (S), added to every query's scores: the same numbers
    as a float attn_mask of one row per query, (L, S), or per batch and head, (B·H, L, S)."""
    length = c.query.shape[-2]
    if padding.dim() == 1 or padding.shape[0] == 1:
        return padding.reshape(1, -1).expand(length, -1)
    rows = padding[:, None, None, :].expand(-1, heads, length, -1)
    return rows.reshape(-1, length, padding.shape[-1])


def _mask_list(mask, key):
    if mask.dtype == torch.bool:
        return mask.tolist()
    mask = mask.double()
    if torch.isnan(mask).any() or (mask == math.inf).any():
        raise CaptureError(
            f"cannot capture a float {key} holding nan or +inf: only -inf (blocked) and finite "
            "numbers can be added to the scores; check how the mask was built")
    return _replace_neg_inf(mask.tolist())


def _replace_neg_inf(values):
    if isinstance(values, list):
        return [_replace_neg_inf(v) for v in values]
    return "-inf" if values == -math.inf else values


# ---------------------------------------------------------------------------------------------
# PyTorch's own numbers, for the trace to check itself against (docs/input-format.md#published):
# a published number is reproduced when the traced one is within half a unit of its last decimal.


def _published(c, lay_out):
    published = {}
    for stage, name, tensor in (("softmax", "weights", c.attention), ("out_proj", "output", c.output)):
        if tensor is None or not torch.isfinite(tensor).all():
            continue
        decimals = _decimals(tensor)
        if decimals is not None:
            published[stage] = {name: {"values": _tolist(lay_out(tensor)), "decimals": decimals}}
    return published


def _decimals(tensor):
    """Decimals PyTorch's numbers are good to: float64 to about 1e-10 of the largest, float32
    to 1e-4; none for 16-bit types, whose rounding is coarser than anything worth checking."""
    relative = {torch.float64: 1e-10, torch.float32: 1e-4}.get(tensor.dtype)
    if relative is None:
        return None
    largest = max(1.0, float(tensor.abs().max())) if tensor.numel() else 1.0
    return max(0, min(15, math.floor(-math.log10(largest * relative))))


# ---------------------------------------------------------------------------------------------
# Values, labels and the file.


def _check_finite(tensor, what):
    if not torch.isfinite(tensor).all():
        raise CaptureError(
            f"cannot capture {what}: it holds nan or inf, which attn-trace cannot trace "
            "(the model's numbers have overflowed or were never set); find where they "
            "first appear, e.g. with torch.autograd.detect_anomaly()")


def _tolist(tensor):
    # float64 holds float32, float16 and bfloat16 values exactly; Python's json writes each
    # float64 so that it reads back as the same number.
    return tensor.double().tolist()


def _labels(labels, key):
    if labels is None:
        return None
    if isinstance(labels, str):
        return labels.split()
    if isinstance(labels, (list, tuple)) and labels and all(
            isinstance(row, (list, tuple)) for row in labels):
        return [[str(t) for t in row] for row in labels]
    if isinstance(labels, (list, tuple)):
        return [str(t) for t in labels]
    raise CaptureError(f"{key}={labels!r}: expected a list of strings, or a string of words")


def _fit_labels(labels, key, tensor, batched, squeeze):
    """The labels as the file wants them, after checking there is one per row."""
    if labels is None:
        return None
    rows = tensor.shape[-2]
    per_batch = labels and isinstance(labels[0], list)
    if per_batch and squeeze and len(labels) == 1:
        labels, per_batch = labels[0], False
    if per_batch:
        if not batched or len(labels) != tensor.shape[0]:
            size = tensor.shape[0] if batched else 1
            raise CaptureError(
                f"{key} holds {len(labels)} lists, but the call had a batch of {size}; pass "
                f"one list of {rows} labels for every sequence, or one list shared by all")
        lists = labels
    else:
        lists = [labels]
    for row in lists:
        if len(row) != rows:
            raise CaptureError(
                f"{key} has {len(row)} labels, but the call had {rows} "
                f"{'query' if key == 'tokens' else 'key'} tokens; pass one label per token")
    return labels


def _dumps(value, indent=0):
    """JSON laid out as the repository's examples are: one matrix row per line."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dumps(v, indent + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], list):
        rows = [pad + _dumps(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(rows) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _check_writable(path):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CaptureError(f"cannot write {path}: it is a directory; give a file name, e.g. "
                           f"{os.path.join(path, 'capture.json')}")
    if not os.path.isdir(folder):
        raise CaptureError(f"cannot write {path}: the folder {folder} does not exist; create "
                           "it first, or write somewhere else")
    if not os.access(folder, os.W_OK):
        raise CaptureError(f"cannot write {path}: the folder {folder} is not writable; write "
                           "somewhere else")


def _write_atomically(path, text):
    """The whole text, or nothing: a temporary file beside `path`, renamed over it."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp")
    except OSError as error:
        raise CaptureError(f"cannot write {path}: {error.strerror}; write somewhere else") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise CaptureError(f"cannot write {path}: {error.strerror}; nothing was written") from None
    except BaseException:
        os.unlink(temporary)
        raise
