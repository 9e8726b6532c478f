"""The tutorials' own attention modules, as PyTorch code, for the scripts that generate examples
and golden files (tools/make_examples.py, tools/make_state_dict_goldens.py).

Each forward returns the intermediates a trace shows: (queries, keys, values, attention weights,
output), the attention weights in the module's own orientation.
"""

import torch


class MySelfAttention(torch.nn.Module):
    """Seed 001 (the iThome series, step 3): three nn.Linear projections with biases, scores
    times hidden_size ** -0.5, softmax over the keys, no output projection. The series' code
    applies the softmax to attn_weights before defining it; this is what it means,
    softmax(attn_scores)."""

    def __init__(self, hidden_size):
        super().__init__()
        self.linear_q = torch.nn.Linear(hidden_size, hidden_size)
        self.linear_k = torch.nn.Linear(hidden_size, hidden_size)
        self.linear_v = torch.nn.Linear(hidden_size, hidden_size)
        self.scaling = hidden_size ** -0.5

    def forward(self, x):
        query = self.linear_q(x)
        key = self.linear_k(x)
        value = self.linear_v(x)
        attn_scores = torch.matmul(query, key.transpose(-1, -2)) * self.scaling
        attn_weights = torch.nn.functional.softmax(attn_scores, dim=-1)
        return query, key, value, attn_weights, torch.matmul(attn_weights, value)


class SelfAttention(torch.nn.Module):
    """Seed 004's SelfAttention: one packed nn.Linear qkv (input_size → 3·hidden_size) with bias,
    num_head heads, scores divided by √(hidden_size / num_head), out_proj back to input_size.

    The seed does not show four helpers; they are written here the plain way, and the bundled
    examples state these choices:
    - _get_qkv splits qkv(x) into queries, keys, values, in that order (chunk(3) of the last axis);
    - _get_multihead_split gives head h the columns h·d … (h+1)·d − 1, as [N·H, T, d];
    - _get_multiheaded_att_score(keys, queries) is keys × queries, einsum 'bkc,bqc->bkq' (the seed's
      'btktq'), so its softmax runs over dim 1, the keys ("softmax in dimension 0 (column)");
    - _get_masked_softmax fills the places where the mask is 0 with -inf before the softmax. Any
      very negative number gives the same weights unless a query has no key left at all.
    The mask is [N, Tk, Tq]: rows are keys, columns are queries, 0 means blocked. forward_cross is
    the seed's cross-attention forward: queries from q_seq, keys and values from kv_seq, through
    the same qkv."""

    def __init__(self, input_size, hidden_size, num_head):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.qkv = torch.nn.Linear(input_size, hidden_size * 3)
        self.out_proj = torch.nn.Linear(hidden_size, input_size)
        self.num_head = num_head
        assert hidden_size % num_head == 0
        self.dim_per_head = hidden_size // num_head

    def _get_qkv(self, x):
        return self.qkv(x).chunk(3, dim=-1)

    def _get_multihead_split(self, x):  # [N, T, C] -> [N * H, T, C / H]
        n, t, _ = x.shape
        return x.view(n, t, self.num_head, self.dim_per_head).transpose(1, 2).reshape(
            n * self.num_head, t, self.dim_per_head)

    def _get_multihead_concat(self, x):  # [N * H, T, C / H] -> [N, T, C]
        nh, t, d = x.shape
        return x.view(nh // self.num_head, self.num_head, t, d).transpose(1, 2).reshape(
            nh // self.num_head, t, self.num_head * d)

    @staticmethod
    def _get_multiheaded_att_score(keys, queries):  # [N * H, Tk, Tq]
        return torch.einsum("bkc,bqc->bkq", keys, queries)

    @staticmethod
    def _get_masked_softmax(att_score, mask):
        return torch.softmax(att_score.masked_fill(mask == 0, float("-inf")), dim=1)

    @staticmethod
    def _get_weighted_sum(values, att_weight):  # [N * H, Tq, d]
        return torch.einsum("bkq,bkc->bqc", att_weight, values)

    def _attend(self, queries, keys, values, mask):
        head_repeated_mask = mask.unsqueeze(1).repeat(1, self.num_head, 1, 1).reshape(
            -1, mask.shape[1], mask.shape[2])
        q = self._get_multihead_split(queries)
        k = self._get_multihead_split(keys)
        v = self._get_multihead_split(values)
        att_score = self._get_multiheaded_att_score(k, q)
        att_score /= k.shape[-1] ** 0.5
        att_weight = self._get_masked_softmax(att_score, head_repeated_mask)
        value_with_att = self._get_multihead_concat(self._get_weighted_sum(v, att_weight))
        return att_weight, self.out_proj(value_with_att)

    def forward(self, x, mask=None):
        if mask is None:
            mask = torch.ones([x.shape[0], x.shape[1], x.shape[1]])
        queries, keys, values = self._get_qkv(x)
        att_weight, output = self._attend(queries, keys, values, mask)
        return queries, keys, values, att_weight, output

    def forward_cross(self, q_seq, kv_seq, mask=None):
        if mask is None:
            mask = torch.ones([q_seq.shape[0], kv_seq.shape[1], q_seq.shape[1]])
        queries, _, _ = self._get_qkv(q_seq)
        _, keys, values = self._get_qkv(kv_seq)
        att_weight, output = self._attend(queries, keys, values, mask)
        return queries, keys, values, att_weight, output

    def weights_as_traced(self, att_weight):
        """[N·H, Tk, Tq] → [N, H, Tq, Tk], the trace's (batch, head, query, key)."""
        nh, tk, tq = att_weight.shape
        return att_weight.view(nh // self.num_head, self.num_head, tk, tq).transpose(-1, -2)
