# CLI tests: cli_test(NAME STATUS FRAGMENT ARGS...) runs `attn-trace ARGS...` and expects the exit
# status and a fragment of its output. Inputs are in tests/cli/inputs/.
set(IN ${CMAKE_CURRENT_SOURCE_DIR}/cli/inputs)
set(EXAMPLE ${PROJECT_SOURCE_DIR}/data/examples/i-am-good.json)

# Help and version on the app and on every subcommand.
cli_test(help 0 "attn-trace run" --help)
cli_test(version 0 "attn-trace ${PROJECT_VERSION}" --version)
cli_test(run_help 0 "--precision" run --help)
cli_test(run_version 0 "attn-trace ${PROJECT_VERSION}" run --version)
cli_test(no_subcommand 2 "Subcommands:")

# The walkthrough: the bundled default example from any directory, a file, standard input.
cli_test(run_default 0 "━━ 8/8 · out_proj · Output projection" run)
cli_test(run_default_numbers 0 "    good  0.3716  0.2646" run)
cli_test(run_file 0 "attn-trace · I am good" run ${EXAMPLE})
add_test(NAME cli.run_stdin COMMAND bash ${EXPECT} 0 "━━ 3/8 · scores" --stdin ${EXAMPLE}
         $<TARGET_FILE:attn-trace> run -)
cli_test(run_stages 0 "━━ 5/8 · softmax" run --stages scores,softmax)
cli_test(run_precision 0 "    I     0.17000000  0.02000000" run --precision 8 --stages projections)
# --full: 40 tokens give 1600 scores, summarised without it; row 20 only shows with --full.
cli_test(run_summary 0 "1600 numbers: the first and last 3 of each axis shown" run ${IN}/forty_tokens.json --stages scores)
cli_test(run_full 0 "    t20 " run ${IN}/forty_tokens.json --full --stages scores)
cli_test(run_precision_0 0 "    good  0   0     0" run --precision 0 --stages softmax)
cli_test(run_precision_15 0 "    I     0.325663146715340" run --precision 15 --stages softmax)
cli_test(run_multihead 0 "━━ 3/9 · split_heads" run ${IN}/two_heads.json)

# Bad usage: exit 2.
# A mistyped flag or subcommand gets the nearest name of that subcommand (tests/unit/test_suggest.cpp
# has the edit-distance side), in every form a flag is typed; nothing close, the list instead.
cli_test(unknown_flag 2 "attn-trace: error: run has no flag --frobnicate" run --frobnicate)
cli_test(unknown_flag_list 2 "hint: the flags of run are --help, --version, --input," run --frobnicate)
cli_test(flag_typo_run 2 "attn-trace: error: run has no flag --head: did you mean --heads?" run --head 4)
cli_test(flag_typo_run_precision 2 "run has no flag --precison: did you mean --precision?" run --precison 3)
cli_test(flag_typo_run_colour 2 "run has no flag --colour: did you mean --color?" run --colour)
cli_test(flag_typo_equals 2 "run has no flag --head=4: did you mean --heads=4?" run --head=4)
cli_test(flag_typo_one_dash 2 "run has no flag -heads: did you mean --heads?" run -heads 2)
# -head would be CLI11's -h (help) followed by "ead"; -output its -o with the value "utput".
cli_test(flag_typo_one_dash_help 2 "run has no flag -head: did you mean --heads?" run -head 2)
cli_test(flag_typo_one_dash_output 2 "run has no flag -output: did you mean --output?" run -output t.json)
cli_test(flag_typo_after_file 2 "run has no flag --stgaes: did you mean --stages?" run ${EXAMPLE} --stgaes softmax)
cli_test(flag_typo_explain 2 "explain has no flag --frmat: did you mean --format?" explain Q[am,1] --frmat json)
# explain --stage would otherwise hand its value to CELL and complain about the cell.
cli_test(flag_typo_explain_none 2 "attn-trace: error: explain has no flag --stage" explain --stage x)
cli_test(flag_typo_explain_list 2 "hint: the flags of explain are --help, --input," explain --stage x)
cli_test(flag_typo_examples 2 "examples has no flag --shwo: did you mean --show?" examples --shwo karim)
cli_test(flag_typo_init 2 "init has no flag --head: did you mean --heads?" init --head 2)
cli_test(flag_typo_init_equals 2 "init has no flag --sed=3: did you mean --seed=3?" init --sed=3)
cli_test(flag_typo_top 2 "attn-trace has no flag --verison: did you mean --version?" --verison)
cli_test(flag_before_subcommand 2 "attn-trace has no flag --stages, it is a flag of run" --stages softmax)
cli_test(subcommand_typo 2 "attn-trace has no subcommand 'rnu': did you mean 'run'?" rnu)
cli_test(subcommand_unknown 2 "hint: the subcommands are run, explain, examples, init" frobnicate)
# A value that looks like a flag is the value of the flag before it, as CLI11 reads it.
cli_test(flag_like_value 2 "--until: unknown stage '--softmax' (did you mean 'softmax'?)" run --until --softmax)
cli_test(flag_like_value_init 0 "\"tokens\": [\"-x\", \"y\"]" init --tokens "-x y")
# -oPATH is -o and its value, not a mistyped flag.
cli_test(short_flag_attached_value 1 "cannot write ${IN}/no_such_folder/t.json" run -o${IN}/no_such_folder/t.json)
cli_test(bad_precision 2 "--precision: expected a whole number from 0 to 15, found '99'" run --precision 99)
cli_test(bad_precision_fraction 2 "--precision: expected a whole number from 0 to 15, found '2.5'" run --precision 2.5)
cli_test(empty_file_name 2 "FILE is an empty string" run {empty})
cli_test(bad_precision_text 2 "--precision" run --precision many)
cli_test(unknown_stage 2 "unknown stage 'scroes' (did you mean 'scores'?)" run --stages scroes)
cli_test(unknown_stage_list 2 "stages are: input, projections, extra_keys, split_heads, scores, scaling, masking, softmax" run --stages x)

# Bad input: exit 1, one clear message naming the file and the JSON path.
cli_test(missing_file 1 "attn-trace: error: ${IN}/nope.json: no such file" run ${IN}/nope.json)
cli_test(directory 1 "is a directory, expected a JSON file" run ${IN})
cli_test(malformed_json 1 "missing_comma.json:3:3: " run ${IN}/missing_comma.json)
cli_test(wrong_shape 1
         "wrong_shape.json: weights.in_proj_weight: expected shape (6, 2) for embed dim 2, found (6, 3)"
         run ${IN}/wrong_shape.json)
cli_test(typo_key 1 "did you mean \"in_proj_weight\"?" run ${IN}/typo_key.json)
cli_test(heads_hint 1 "hint: head counts that would: 1, 2, 4" run ${IN}/bad_heads.json)

# The JSON export and output files (more in tests/cli/output_file.sh and tests/json/).
cli_test(json_format 0 "\"format\": \"attn-trace\"" run --format json)
cli_test(json_stages 0 "\"id\": \"softmax\"" run --format json --stages softmax)
cli_test(bad_format 2 "--format" run --format yaml)
# The NumPy export (tests/npz/check_npz.py reads it with NumPy): a file only, never standard output.
cli_test(npz_needs_output 2 "--format npz: it needs -o FILE: the NumPy export is a binary archive" run --format npz)
cli_test(npz_no_header 2 "--no-header: the NumPy export has no header to leave out" run --format npz --no-header -o t.npz)
cli_test(npz_missing_folder 1 "cannot write ${IN}/no_such_folder/t.npz: No such file or directory"
         run --format npz -o ${IN}/no_such_folder/t.npz)
cli_test(npz_warning 0 "attn-trace: warning: softmax: every key is blocked" run ${IN}/blocked_row.json --format npz -o /dev/null)
# The teaching formats (tests/markdown, tests/latex, tests/browser read them back) and their flags.
cli_test(markdown_format 0 "## 3/8 · `scores` · Attention scores" run --format markdown)
cli_test(no_header_text 0 "━━ 1/8 · input" run --no-header)
cli_test(no_header_json 2 "--no-header: the JSON export has no header to leave out" run --format json --no-header)
cli_test(latex_fragment_alone 2 "--latex-fragment: it needs --format latex" run --latex-fragment)
# Without the header a warning would go unseen: it goes to standard error too.
cli_test(no_header_warning 0 "attn-trace: warning: softmax: every key is blocked" run ${IN}/blocked_row.json --no-header)
cli_test(stages_after_until 2 "--stages: every stage it names comes after --until scores: nothing would be shown" run --stages softmax --until scores)
cli_test(markdown_ascii 0 "attn-trace: note: --ascii ignored: it is for the text walkthrough, not --format markdown" run --format markdown --ascii)
cli_test(markdown_warning 0 "attn-trace: warning: softmax: every key is blocked" run ${IN}/blocked_row.json --format markdown)
cli_test(bad_weighted_limit 2 "--weighted-limit: expected a whole number from 0 to 9007199254740992, found '-5'" run --weighted-limit -5)
cli_test(huge_weighted_limit 2 "found '99999999999999999999999'" run --weighted-limit 99999999999999999999999)
cli_test(empty_output_path 2 "--output: the output path is an empty string" run -o {empty})
# -o where no file can be written: a folder that does not exist, a directory.
cli_test(output_missing_folder 1 "cannot write ${IN}/no_such_folder/trace.json: No such file or directory"
         run -o ${IN}/no_such_folder/trace.json)
cli_test(output_is_directory 1 "cannot write ${IN}: it is a directory" run -o ${IN})
cli_test(weighted_limit_text 0 "--weighted-limit 3200 to include it" run ${IN}/forty_tokens.json --weighted-limit 10)
# A pipe given as a file name (process substitution, /dev/stdin) is read as a stream.
add_test(NAME cli.run_dev_stdin COMMAND bash ${EXPECT} 0 "━━ 3/8 · scores" --stdin ${EXAMPLE}
         $<TARGET_FILE:attn-trace> run /dev/stdin)

# Masks and cross-attention: blocked cells as −∞, warnings, bad masks.
cli_test(mask_causal_padding 0 "    good    0   0     0     −∞" run ${IN}/causal_padding.json --stages masking)
cli_test(mask_blocked_row 0 "warning: softmax: every key is blocked for query \"am\" (row 1)" run ${IN}/blocked_row.json)
cli_test(mask_blocked_row_json 0 "attn-trace: warning: softmax: every key is blocked" run ${IN}/blocked_row.json --format json)
cli_test(mask_float_01 0 "blocks nothing" run ${IN}/float_01_mask.json)
cli_test(mask_bad_shape 1 "bad_mask_shape.json: mask: expected shape (L, S) = (3, 3)" run ${IN}/bad_mask_shape.json)
cli_test(cross_keys 0 "keys     je · suis · <bias_kv> · <zero_attn>" run ${IN}/cross.json)
# Python's json.dump writes NaN, Infinity and -Infinity: read as those numbers.
cli_test(python_minus_infinity_mask 0 "    0   0  −∞  −∞" run ${IN}/python_minus_infinity.json --stages masking)
cli_test(python_nan_input 0 "attn-trace: warning: input: 1 of 6 numbers of X are not finite (inf or nan): the input gives NaN or ±Infinity in X" run ${IN}/python_nan.json --format json -o /dev/null)
cli_test(python_nan_json 0 "\"nan\"" run ${IN}/python_nan.json --format json)
cli_test(python_infinity_explain 0 "= nan" explain "weights[1,0]" ${IN}/python_infinity.json)
cli_test(python_infinity_focus 0 "focus    query 1 (position 1 of 0–2)" run ${IN}/python_infinity.json --focus query=1 --color always)
cli_test(python_nan_weights_file 0 "attn-trace: warning: projections: 3 of 6 numbers of V are not finite (inf or nan): the input gives NaN or ±Infinity in W_v, b_o" run ${IN}/input_only.json --weights ${IN}/python_nan_weights.json --format json -o /dev/null)

# Limits: a trace larger than the memory budget is refused before it is computed.
cli_test(memory_budget_exceeded 1 "forty_tokens.json: this trace needs about" run ${IN}/forty_tokens.json --memory-budget 4MiB)
cli_test(memory_budget_hint 1 "hint: raise the budget with --memory-budget" run ${IN}/forty_tokens.json --memory-budget 4MiB)
# … and a file too large to read within the budget is refused before it is read.
cli_test(memory_budget_file 1 "forty_tokens.json: 833 bytes of JSON, more than the 640 bytes that the memory budget of 10 KiB allows" run ${IN}/forty_tokens.json --memory-budget 10KiB)
add_test(NAME cli.memory_budget_stdin COMMAND bash ${EXPECT} 1 "of JSON, more than the 640 bytes that the memory budget of 10 KiB allows"
         --stdin ${IN}/forty_tokens.json $<TARGET_FILE:attn-trace> run - --memory-budget 10KiB)
cli_test(memory_budget_raised 0 "━━ 3/7 · scores" run ${IN}/forty_tokens.json --memory-budget 64MiB)
cli_test(memory_budget_bad_value 2 "--memory-budget: expected a size like 512MiB or 8GiB, found 'lots'" run --memory-budget lots)
# Files that cannot be read, each with its own message.
cli_test(empty_file 1 "empty.json: the file is empty, expected a JSON object" run ${IN}/empty.json)
add_test(NAME cli.stdin_empty COMMAND bash ${EXPECT} 1 "<stdin>: standard input was empty" --stdin /dev/null
         $<TARGET_FILE:attn-trace> run -)
add_test(NAME cli.stdin_closed_early COMMAND bash ${EXPECT} 1 "hint: standard input closed before every [ and { was closed"
         --stdin ${IN}/truncated.json $<TARGET_FILE:attn-trace> run -)
# A file that exists but cannot be read (as root, only a read error is sure to happen).
cli_test(unreadable 1 "/proc/self/mem: cannot read: Input/output error" run /proc/self/mem)

# Bundled examples: listed, shown, traced by name or by --example.
cli_test(examples_list 0 "(default) I am good (3 tokens · 1 head)" examples)
cli_test(examples_show 0 "\"in_proj_weight\": [" examples --show i-am-good)
cli_test(examples_show_unknown 2 "--show: unknown example 'i-am-god' (did you mean 'i-am-good'?)" examples --show i-am-god)
cli_test(run_example_by_name 0 "━━ 8/8 · out_proj" run i-am-good)
cli_test(run_example_flag 0 "━━ 3/8 · scores" run --example i-am-good --stages scores)
cli_test(run_example_unknown 2 "--example: unknown example 'nope'" run --example nope)
cli_test(run_example_typo 1 "hint: did you mean the example 'i-am-good'?" run i-am-god)
cli_test(run_example_not_found 1 "i-am-god: no such file, and no bundled example of that name" run i-am-god)
cli_test(run_example_and_file 2 "FILE excludes --example" run x.json --example i-am-good)
# What --show prints is an input file that traces exactly as the example does.
add_test(NAME cli.examples_show_round_trip
         COMMAND bash -c "diff <('$<TARGET_FILE:attn-trace>' examples --show i-am-good | '$<TARGET_FILE:attn-trace>' run -) <('$<TARGET_FILE:attn-trace>' run i-am-good)")
cli_test(examples_list_cross 0 "SelfAttention: cross-attention (3 queries × 4 keys · 2 heads)" examples)
# Published values: what the tutorials printed, reproduced or explained.
cli_test(published_match 0 "✓ context matches the published values (to 4 decimals)" run makeesy)
cli_test(published_differs 0 "✗ weights differs from the published values (to 1 decimal) in 1 of 9 numbers:" run karim)
cli_test(published_why 0 "why: the post replaces the softmax by rounded weights" run karim)

# init: a ready-to-edit input file that traces as it is.
cli_test(init_default 0 "\"in_proj_weight\": [" init)
cli_test(init_tokens 0 "\"tokens\": [\"the\", \"cat\", \"sat\"]" init --tokens "the cat sat")
cli_test(init_heads_not_dividing 2 "--heads: 3 does not divide --embed-dim 4, head counts that would: 1, 2, 4" init --heads 3)
cli_test(init_tokens_and_seq_len 2 "--tokens: 2 tokens but --seq-len 3" init --tokens "a b" --seq-len 3)
cli_test(init_bad_layout 2 "--layout" init --layout numpy)
cli_test(init_mask_causal 0 "\"mask\": \"causal\"" init --mask causal)
cli_test(init_bad_mask 2 "--mask: triangular not in {none,causal}" init --mask triangular)
cli_test(init_integers 0 "Written by attn-trace init --integers with seed 0: X and the weights are whole numbers from -2 to 2" init --integers)
cli_test(init_integers_help 0 "--integers" init --help)
# A class's file: whole numbers up to the scores, a causal mask, and it traces to the end.
add_test(NAME cli.init_integers_causal_traces
         COMMAND bash -c "'$<TARGET_FILE:attn-trace>' init --integers --mask causal --tokens 'the cat sat down' | '$<TARGET_FILE:attn-trace>' run - --stages masking | grep -qF '    the     1    0    0     0'")
add_test(NAME cli.init_traces
         COMMAND bash -c "'$<TARGET_FILE:attn-trace>' init --seq-len 4 --embed-dim 6 --heads 3 --seed 5 --layout math | '$<TARGET_FILE:attn-trace>' run - | grep -qF '━━ 10/10 · out_proj'")
add_test(NAME cli.init_same_seed_same_file
         COMMAND bash -c "diff <('$<TARGET_FILE:attn-trace>' init --seed 9) <('$<TARGET_FILE:attn-trace>' init --seed 9) && ! diff -q <('$<TARGET_FILE:attn-trace>' init --seed 9) <('$<TARGET_FILE:attn-trace>' init --seed 10) >/dev/null")

# Weights from a file of their own: real state_dicts from tools/make_state_dict_goldens.py.
set(SD ${CMAKE_CURRENT_SOURCE_DIR}/state_dicts)
cli_test(weights_prefix 0 "    the   -0.2177   0.1507   0.2872  -0.0814  -0.1312  -0.1943"
         run --input ${SD}/encoder-second-layer/input.json
         --weights ${SD}/encoder-second-layer/weights.json --weights-prefix layers.1.self_attn.
         --stages out_proj)
cli_test(weights_note 0 "note: weights: layer \"h.1.attn.\" of"
         run ${SD}/gpt2-conv1d/input.json --weights ${SD}/gpt2-conv1d/weights.json
         --weights-prefix h.1.attn. --stages input)
cli_test(weights_layers_listed 1 "holds 2 attention layers: \"h.0.attn.\", \"h.1.attn.\""
         run ${SD}/gpt2-conv1d/input.json --weights ${SD}/gpt2-conv1d/weights.json)
cli_test(weights_unknown_prefix 1 "--weights-prefix h.2.attn.: no attention layer has that prefix"
         run ${SD}/gpt2-conv1d/input.json --weights ${SD}/gpt2-conv1d/weights.json
         --weights-prefix h.2.attn.)
cli_test(weights_unknown_prefix_lists 1 "the file's layers are: \"h.0.attn.\", \"h.1.attn.\""
         run ${SD}/gpt2-conv1d/input.json --weights ${SD}/gpt2-conv1d/weights.json
         --weights-prefix h.2.attn.)
# Hugging Face's names: BART, BERT (its attention. prefix, and its self. module alone), Llama.
cli_test(weights_bart_note 0 "Q is q_proj(x): BART, OPT, Whisper and fairseq multiply it by"
         run ${SD}/bart-decoder-self-attn/input.json
         --weights ${SD}/bart-decoder-self-attn/weights.json
         --weights-prefix model.decoder.layers.0.self_attn. --stages input)
cli_test(weights_bert_layers_listed 1
         "holds 2 attention layers: \"encoder.layer.0.attention.\", \"encoder.layer.1.attention.\""
         run ${SD}/bert-attention/input.json --weights ${SD}/bert-attention/weights.json)
cli_test(weights_bert_out_proj_note 0 "out_proj is BERT's output.dense"
         run ${SD}/bert-attention/input.json --weights ${SD}/bert-attention/weights.json
         --weights-prefix encoder.layer.1.attention. --stages input)
cli_test(weights_bert_self_prefix 0 "output.dense, is in \"encoder.layer.1.attention.\""
         run ${SD}/bert-attention/input.json --weights ${SD}/bert-attention/weights.json
         --weights-prefix encoder.layer.1.attention.self. --stages input)
cli_test(weights_bert_whole_layer 1 "did you mean --weights-prefix encoder.layer.1.attention.?"
         run ${SD}/bert-attention/input.json --weights ${SD}/bert-attention/weights.json
         --weights-prefix encoder.layer.1.)
cli_test(weights_o_proj_needs_rope_none 1 "hint: if this layer has no rotary embeddings, say so: --rope none"
         run ${SD}/llama-no-rope/input.json --weights ${SD}/llama-no-rope/weights.json
         --weights-prefix model.layers.1.self_attn.)
cli_test(weights_rope_none 0 "o_proj: a Llama-family layer, traced without rotary position"
         run ${SD}/llama-no-rope/input.json --weights ${SD}/llama-no-rope/weights.json
         --weights-prefix model.layers.1.self_attn. --rope none --stages input)
cli_test(weights_rope_rotate_half 1 "--rope: rotary position embeddings (\"rotate_half\") are not supported yet"
         run ${SD}/llama-no-rope/input.json --weights ${SD}/llama-no-rope/weights.json
         --weights-prefix model.layers.1.self_attn. --rope rotate_half)
cli_test(weights_rope_unknown 1 "--rope: expected \"none\", found \"yes\""
         run ${SD}/llama-no-rope/input.json --weights ${SD}/llama-no-rope/weights.json
         --weights-prefix model.layers.1.self_attn. --rope yes)
# An input of B batches of one token each: most likely (L, B, E), traced with a warning.
cli_test(input_one_token_batches 0 "4 batches of one token each"
         run ${IN}/one_token_batches.json --stages input)
cli_test(weights_missing_file 1 "nowhere.json: no such file"
         run ${SD}/gpt2-conv1d/input.json --weights nowhere.json)
cli_test(weights_and_inline_weights 1 "i-am-good.json: weights: given here and with --weights"
         run ${EXAMPLE} --weights ${SD}/seed001-linear-names/weights.json)
cli_test(weights_input_file_as_weights 1 "this looks like an input file"
         run ${SD}/seed001-linear-names/input.json --weights ${SD}/seed001-linear-names/input.json)
cli_test(weights_prefix_needs_weights 2 "--weights-prefix requires --weights"
         run ${SD}/seed001-linear-names/input.json --weights-prefix self_attn.)
cli_test(weights_input_and_file 2 "excludes"
         run ${EXAMPLE} --input ${EXAMPLE})
cli_test(weights_both_stdin 2 "the input and the weights cannot both come from standard input"
         run - --weights -)
cli_test(heads_flag 0 "H = 4 heads · d = 2"
         run ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json --heads 4
         --stages input)
# A state_dict does not record the head count: nobody gave it, so nothing is traced.
cli_test(weights_heads_missing 1 "input.json: num_heads: missing: the weights come from ${SD}/encoder-layer/weights.json, and a state_dict does not record the number of heads"
         run ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json)
cli_test(weights_heads_missing_hint 1 "hint: give it with --heads N, or as \"num_heads\": N in ${SD}/encoder-layer/input.json"
         run ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json --format json)
cli_test(weights_heads_missing_divisors 1 "N divides the width of Q, K and V (8): 1, 2, 4, 8"
         run ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json)
cli_test(weights_heads_missing_explain 1 "a state_dict does not record the number of heads"
         explain "output[0,0,0]" ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json
         --weights-prefix self_attn.)
cli_test(heads_flag_not_divisor 1 "--heads: 3 does not divide the width of Q, K and V (8)"
         run ${SD}/encoder-layer/input.json --weights ${SD}/encoder-layer/weights.json --heads 3)
cli_test(heads_flag_zero 2 "expected a whole number from 1"
         run --heads 0)
cli_test(heads_flag_too_large 1 "example i-am-good: --heads: expected a whole number from 1 to 2 (the width of Q, K and V), found 3"
         run --heads 3)
cli_test(weights_empty_file 1 "empty.json: the file is empty, expected a JSON object of named weights (a state_dict)"
         run ${SD}/seed001-linear-names/input.json --weights ${IN}/empty.json)
cli_test(weights_torch_save 1 "this looks like a torch.save file"
         run ${SD}/seed001-linear-names/input.json --weights ${IN}/torch_save.pt)
cli_test(weights_not_json 1 "missing_comma.json:"
         run ${SD}/seed001-linear-names/input.json --weights ${IN}/missing_comma.json)
cli_test(weights_too_large 1 "KiB of JSON, more than the 16 KiB that the memory budget of 256 KiB allows"
         run ${SD}/gpt2-conv1d/input.json --weights ${SD}/gpt2-conv1d/weights.json
         --memory-budget 256KiB)
# safetensors weights (tools/make_safetensors.py): found by name or by their first bytes, a whole
# model's layer picked by prefix, the memory budget counting the layer read, not the file.
set(ST ${CMAKE_CURRENT_SOURCE_DIR}/safetensors)
# As JSON: the walkthrough wraps the note where the path's length puts it.
cli_test(safetensors_note 0 "model.safetensors (4 of its 25 keys)"
         run ${ST}/encoder-two-layers/input.json --weights ${ST}/encoder-two-layers/model.safetensors
         --weights-prefix layers.1.self_attn. --heads 2 --stages input --format json)
cli_test(safetensors_layers_listed 1 "holds 2 attention layers: \"layers.0.self_attn.\", \"layers.1.self_attn.\""
         run ${ST}/encoder-two-layers/input.json --weights ${ST}/encoder-two-layers/model.safetensors
         --heads 2)
cli_test(safetensors_unknown_prefix 1 "--weights-prefix layers.2: no attention layer has that prefix"
         run ${ST}/encoder-two-layers/input.json --weights ${ST}/encoder-two-layers/model.safetensors
         --weights-prefix layers.2 --heads 2)
cli_test(safetensors_missing_file 1 "nowhere.safetensors: no such file"
         run ${ST}/mha-f32/input.json --weights nowhere.safetensors --heads 2)
cli_test(safetensors_budget 1 "model.safetensors: the 4 tensors of the top level hold 288 numbers, which take about 9 KiB of memory once read, more than the memory budget of 8 KiB"
         run ${ST}/mha-f32/input.json --weights ${ST}/mha-f32/model.safetensors --heads 2
         --memory-budget 8KiB)
add_test(NAME cli.weights_from_stdin
         COMMAND bash ${EXPECT} 0 "    0  -0.4746   0.0504  -0.3356   0.1576"
                 --stdin ${SD}/seed001-linear-names/weights.json $<TARGET_FILE:attn-trace>
                 run ${SD}/seed001-linear-names/input.json --weights - --stages summation)
cli_test(weights_with_example 1 "--weights ${SD}/seed001-linear-names/weights.json: the bundled example i-am-good has weights of its own"
         run --weights ${SD}/seed001-linear-names/weights.json)
cli_test(weights_given_as_input 1 "(top level): this file holds weights only (a state_dict), not an input"
         run ${SD}/seed001-linear-names/weights.json)
# A --weights file that is no state_dict, or whose layer has a mistake: the message names that
# file and the key as written there.
cli_test(weights_top_level_array 1 "weights_array.json: (top level): expected a JSON object of named weights (a state_dict), found an array of 6 elements"
         run ${IN}/input_only.json --weights ${IN}/weights_array.json)
cli_test(weights_no_attention_layer 1 "weights_misspelt.json: found no attention layer's Q/K/V weights among its 2 keys"
         run ${IN}/input_only.json --weights ${IN}/weights_misspelt.json)
cli_test(weights_no_attention_layer_hint 1 "hint: did you mean \"in_proj_weight\" for \"in_proj_weigth\"?"
         run ${IN}/input_only.json --weights ${IN}/weights_misspelt.json)
cli_test(weights_duplicate_key 1 "weights_duplicate_key.json:4:3: duplicate key \"W_q\": JSON keeps only one value, so the other would be silently dropped"
         run ${IN}/input_only.json --weights ${IN}/weights_duplicate_key.json)
cli_test(weights_layer_wrong_shape 1 "weights_layer_wrong_width.json: attn.in_proj_weight: expected shape (6, 2) for embed dim 2, found (6, 3)"
         run ${IN}/input_only.json --weights ${IN}/weights_layer_wrong_width.json)
cli_test(weights_unknown_key 1 "weights_key_typo.json: W_kk: unknown key \"W_kk\""
         run ${IN}/input_only.json --weights ${IN}/weights_key_typo.json)
cli_test(weights_unknown_key_did_you_mean 1 "did you mean \"W_k\"?"
         run ${IN}/input_only.json --weights ${IN}/weights_key_typo.json)
cli_test(weights_layer_unknown_key 1 "weights_layer_key_typo.json: attn.W_kk: unknown key \"W_kk\""
         run ${IN}/input_only.json --weights ${IN}/weights_layer_key_typo.json)
cli_test(weights_conv1d_hint 1 "hint: c_proj.weight is GPT-2's Conv1D, stored (in, out)"
         run ${IN}/input_only.json --weights ${IN}/weights_cproj_typo.json)
# Two layers, one at the top level and one under "decoder.": the file lists both, and a mistake in
# the one picked names its key as written there.
cli_test(weights_top_level_layer_listed 1 "weights_two_layers.json: holds 2 attention layers: \"\" (the top level), \"decoder.\""
         run ${IN}/input_only.json --weights ${IN}/weights_two_layers.json)
cli_test(weights_pick_one 1 "pick one with --weights-prefix"
         run ${IN}/input_only.json --weights ${IN}/weights_two_layers.json)
cli_test(weights_pick_one_hint 1 "hint: for example --weights-prefix \"\""
         run ${IN}/input_only.json --weights ${IN}/weights_two_layers.json)
cli_test(weights_prefix_layer_wrong_shape 1 "weights_two_layers.json: decoder.W_q: expected shape (out, 2) for embed dim 2, found (3, 3)"
         run ${IN}/input_only.json --weights ${IN}/weights_two_layers.json --weights-prefix decoder)

# explain: the arithmetic behind one number.
cli_test(explain_default 0 "  = 0.9×0.2 + 0.4×0.8 + (−0.1)" explain "projections.Q[am,1]")
cli_test(explain_checked 0 "✓ the trace holds the same number (0.3601, equal to 12 digits)"
         explain "weights[am,good]")
cli_test(explain_example 0 "note: head 1 takes columns 3 to 5 of Q" explain "split_heads.Q[1,cat,2]" multihead)
cli_test(explain_json 0 "\"combine\": \"ratio\"" explain "weights[am,good]" --format json)
cli_test(explain_file 0 "masking.masked[0,je,<pad>]" explain "masked[0,je,<pad>]" --example cross)
cli_test(explain_weights_file 0 "= context[1,2,0]·W_o[0,0] + context[1,2,1]·W_o[0,1]"
         explain "output[1,2,0]" --input ${SD}/encoder-layer/input.json
         --weights ${SD}/encoder-layer/weights.json --weights-prefix self_attn. --heads 2)
cli_test(explain_unknown_tensor 1 "unknown tensor 'score' (did you mean 'scores'?)" explain "score[0,0]")
cli_test(explain_out_of_range 1 "index 3 of the query axis is out of range: valid are 0 to 2 (I, am, good)"
         explain "scores[3,0]")
cli_test(explain_bad_cell 2 "expected an index in brackets at the end" explain scores)
cli_test(explain_no_cell 2 "CELL is required" explain)
cli_test(explain_unknown_tensor_lists 1 "the tensors of this trace: X, Q, K, V, scores, scaled, weights, weighted, context, output"
         explain "score[0,0]")
cli_test(explain_unknown_stage 1 "example multihead: unknown stage 'split'" explain "split.Q[0,0,0]" multihead)
cli_test(explain_tensor_in_two_stages 1 "example multihead: 'Q' is in 2 stages: projections.Q (query 4 × feature 6), split_heads.Q (head 2 × query 4 × feature 3)"
         explain "Q[0]" multihead)
cli_test(explain_index_count 1 "example multihead: scores.scores has 3 indices (head 2 × query 4 × key 4), found 2"
         explain "scores[0,0]" multihead)
cli_test(explain_unknown_token 1 "scores.scores: no key token 'dog' (did you mean 'down'?): valid are 0 to 3 (the, cat, sat, down)"
         explain "scores[0,cat,dog]" multihead)
cli_test(explain_axis_takes_number 1 "scores.scores: the head axis takes a number, found 'h': valid are 0 to 1"
         explain "scores[h,0,0]" multihead)
cli_test(explain_token_twice 1 "repeated_token.json: scores.scores: the query token 'the' stands at 0 and 2: give its position"
         explain "scores[the,cat]" ${IN}/repeated_token.json)
cli_test(explain_one_position_axis 1 "one_token.json: scores.scores: index 1 of the query axis is out of range: the only valid one is 0 (solo)"
         explain "scores[1,0]" ${IN}/one_token.json)
# A CELL that cannot be read is a usage error.
cli_test(explain_empty_index 2 "CELL: 'scores[0,,1]': an empty index" explain "scores[0,,1]")
cli_test(explain_no_tensor_name 2 "CELL: '[0]': no tensor name before the" explain "[0]")
cli_test(explain_brackets_twice 2 "CELL: 'scores[0][1]': one pair of brackets, with the indices separated by commas: scores[0,1], not scores[0][1]"
         explain "scores[0][1]")
cli_test(explain_no_stage_name 2 "CELL: '.scores[0,1]': no stage name before the ." explain ".scores[0,1]")

# --until: the walkthrough stops after a stage, or where it would stand.
cli_test(until_stops 0 "━━ 3/8 · scores" run --until scores)
add_test(NAME cli.until_nothing_after
         COMMAND bash -c "! '$<TARGET_FILE:attn-trace>' run --until scores | grep -q 'scaling\\|summary'")
cli_test(until_missing_stage 0 "(no split_heads stage in this trace: it exists only with num_heads > 1)"
         run --until split_heads)
cli_test(until_last_has_summary 0 "━━ summary" run --until out_proj)
cli_test(until_json 0 "\"id\": \"softmax\"" run --until softmax --format json)
cli_test(until_unknown 2 "--until: unknown stage 'softmx' (did you mean 'softmax'?)" run --until softmx)
cli_test(ascii_flag 0 "== 3/8 | scores | Attention scores: every query against every key ===" run --ascii --stages scores)
cli_test(explain_flag 0 "  Shape rule: (H, L, d) → (L, D): head h fills columns" run multihead --explain --stages merge_heads)

# --focus: every stage cut to one slice; the header says so.
cli_test(focus_header 0 "  focus    head 1 (of 0–1) · query sat (position 2 of 0–3): every table"
         run multihead --focus head=1,query=sat)
cli_test(focus_slice 0 "weights (1×1×4)   [head × query × key]" run multihead --focus head=1,query=2)
cli_test(focus_summary 0 "    sat → head 1: the 0.49" run multihead --focus head=1,query=sat)
cli_test(focus_json 0 "\"focus\": {\"batch\": null, \"head\": 1, \"query\": 2}"
         run multihead --focus head=1,query=sat --format json)
cli_test(focus_until 0 "━━ 7/11 · softmax" run multihead --focus query=cat --until softmax)
cli_test(focus_unknown_axis 2 "--focus: unknown axis 'heads' (did you mean 'head'?)" run --focus heads=1)
cli_test(focus_no_equals 2 "--focus: 'head' has no '='" run --focus head)
cli_test(focus_empty 2 "--focus: the value is empty" run --focus {empty})
cli_test(focus_twice 2 "--focus: query is given twice" run --focus query=I,query=am)
cli_test(focus_head_range 1 "example multihead: --focus head=2: this trace has 2 heads: valid are 0 to 1"
         run multihead --focus head=2)
cli_test(focus_unknown_token 1 "--focus query=mat: no query token 'mat' (did you mean 'cat'?)"
         run multihead --focus query=mat)
cli_test(focus_file 1 "two_heads.json: --focus batch=1: this trace has 1 batch: the only valid one is 0"
         run ${IN}/two_heads.json --focus batch=1)

# --color: shading only where asked; a bad value is a usage error (tests/cli/color_terminal.sh
# drives a real terminal).
cli_test(color_always 0 "  shade " run --color always --stages softmax)
add_test(NAME cli.color_auto_pipe
         COMMAND bash -c "! '$<TARGET_FILE:attn-trace>' run --color auto | grep -q $'\\x1b'")
cli_test(color_bad 2 "--color: rainbow not in {auto,always,never}" run --color rainbow)

# --step off a terminal: ignored with one note (tests/cli/step.sh drives a real terminal).
cli_test(step_no_terminal 0 "attn-trace: note: --step ignored: standard input and output must both be a terminal"
         run --step)
cli_test(step_json 0 "--step ignored: it shows the text walkthrough, not --format json" run --step --format json)
# --focus twice is one request; the word after its value is the input, not a second value.
cli_test(focus_twice_merged 0 "  focus    head 1 (of 0–1) · query cat (position 1 of 0–3): every table"
         run --focus query=cat multihead --focus head=1)
cli_test(focus_twice_same_axis 2 "--focus: query is given twice" run --focus query=I --focus query=am)
cli_test(focus_empty_part 2 "--focus: an empty part (two commas in a row, or one at an end)"
         run --focus head=0,,query=0)
cli_test(focus_key_token 1 "'am' is a key token, not a query token" run cross --focus query=am)
cli_test(focus_no_value 2 "--focus: query= has no value" run --focus query=)
cli_test(focus_head_not_a_number 1 "example multihead: --focus head=one: this trace has 2 heads: valid are 0 to 1"
         run multihead --focus head=one)
cli_test(focus_query_range 1 "example multihead: --focus query=4: this trace has 4 queries: valid are 0 to 3 (the · cat · sat · down)"
         run multihead --focus query=4)
cli_test(focus_unknown_token_hint 1 "hint: give the query's position instead, e.g. query=0" run multihead --focus query=mat)
# A token that names no one position: twice in the input, or at other places in other batches.
cli_test(focus_token_twice 1 "repeated_token.json: --focus query=the: the token 'the' stands at 0 and 2"
         run ${IN}/repeated_token.json --focus query=the)
cli_test(focus_token_twice_hint 1 "hint: give its position instead, e.g. query=0"
         run ${IN}/repeated_token.json --focus query=the)
cli_test(focus_token_moves_between_batches 1 "batched_tokens.json: --focus query=cat: the token 'cat' stands at different positions in different batches"
         run ${IN}/batched_tokens.json --focus query=cat)
cli_test(focus_token_moves_between_batches_hint 1 "hint: add batch=N, or give the query's position"
         run ${IN}/batched_tokens.json --focus query=cat)
cli_test(focus_token_of_another_batch 1 "batched_tokens.json: --focus query=ran: 'ran' is no query token in batch 0, but one of batch 1"
         run ${IN}/batched_tokens.json --focus query=ran)
cli_test(focus_token_of_another_batch_hint 1 "hint: add batch=1 (or give the query's position)"
         run ${IN}/batched_tokens.json --focus query=ran)

# NumPy files as input (tests/numpy/, written by tools/make_numpy_cases.py), and --tokens.
set(NP ${CMAKE_CURRENT_SOURCE_DIR}/numpy)
cli_test(numpy_npz 0 "tokens   the · cat · sat · down"
         run ${NP}/batched-f32-causal.npz --heads 2 --tokens "the cat sat down" --stages input)
cli_test(numpy_npy_input_flag 0 "L = 3 tokens · E = 4"
         run --input ${NP}/x-f32-fortran.npy --stages input)
add_test(NAME cli.numpy_npz_stdin
         COMMAND bash ${EXPECT} 0 "H = 2 heads" --stdin ${NP}/self-f64-h2.npz
                 $<TARGET_FILE:attn-trace> run - --stages input)
cli_test(numpy_explain 0 "exp(scaled[0,the,mats] − m)"
         explain "weights[0,the,cat]" ${NP}/self-f64-h2.npz --tokens "the cat sat mats")
cli_test(numpy_explain_value 0 "= 0.2342"
         explain "weights[0,the,cat]" ${NP}/self-f64-h2.npz --tokens "the cat sat mats")
cli_test(numpy_too_large 1 "self-f64-h2.npz: 3.02 KiB of NumPy data, more than the 1 KiB that the memory budget of 16 KiB allows"
         run ${NP}/self-f64-h2.npz --memory-budget 16KiB)
cli_test(tokens_run_json 0 "tokens   we · are · fine"
         run ${EXAMPLE} --tokens "we are fine" --stages input)
cli_test(tokens_note 0 "note: token labels from --tokens (the file's \"tokens\" are [\"I\",\"am\",\"good\"])"
         run ${EXAMPLE} --tokens "we are fine" --stages input)
cli_test(tokens_explain 0 "softmax.weights[we,fine]"
         explain "weights[we,fine]" --tokens "we are fine")
cli_test(tokens_count 1 "i-am-good.json: --tokens: expected 3 token labels, one per row of input, found 2"
         run ${EXAMPLE} --tokens "we are")
cli_test(tokens_count_explain 1 "--tokens: expected 3 token labels, one per row of input, found 4"
         explain "weights[0,0]" --tokens "a b c d")

# check: a learner's tensors against the trace (docs/check.md). The catalogue of mistakes is
# tested on files a buggy NumPy implementation wrote (tests/check/); these are the command line's
# own cases, on Karim's worked example, whose Q, K, V and scores are small whole numbers.
cli_test(check_help 0 "Exit status: 0 every tensor you gave matches the trace, 3 one differs" check --help)
cli_test(check_match 0 "All 4 tensors match the trace." check ${IN}/check-karim-right.json karim)
cli_test(check_match_row 0 "  ✓ attn_scores scores.scores (3, 3)          max error 0" check ${IN}/check-karim-right.json karim)
cli_test(check_differs 3 "First difference: q (the trace's projections.Q), 8 of 9 cells differ." check ${IN}/check-karim-kqv.json karim)
cli_test(check_worst_cell 3 "  query \"input 2\" (1), feature 0  yours 4.0000   trace 2.0000" check ${IN}/check-karim-kqv.json karim)
cli_test(check_diagnosis 3 "  qkv_order (projections stage)" check ${IN}/check-karim-kqv.json --example karim)
cli_test(check_explain_hint 3 "attn-trace explain 'projections.Q[1,0]' karim" check ${IN}/check-karim-kqv.json karim)
cli_test(check_json 3 "\"id\": \"qkv_order\"" check ${IN}/check-karim-kqv.json karim --format json)
cli_test(check_json_match 0 "\"first_difference\": null" check ${IN}/check-karim-right.json karim --format json)
cli_test(check_precision 3 "yours 4.00   trace 2.00" check ${IN}/check-karim-kqv.json karim --precision 2)
cli_test(check_atol 0 "All 3 tensors match the trace." check ${IN}/check-karim-kqv.json karim --atol 10)
cli_test(check_unknown_name 1 "check-typo.json: attn_wieghts: no tensor of the trace has this name" check ${IN}/check-typo.json karim)
cli_test(check_unknown_name_hint 1 "did you mean attn_weights?" check ${IN}/check-typo.json karim)
cli_test(check_no_mine 2 "MINE is required" check)
cli_test(check_bad_rtol 2 "--rtol: expected a number ≥ 0 such as 1e-4, found '-1'" check ${IN}/check-typo.json karim --rtol -1)
cli_test(check_bad_atol 2 "--atol: expected a number ≥ 0 such as 1e-4, found 'x'" check ${IN}/check-typo.json karim --atol x)
cli_test(check_bad_format 2 "--format: html not in {text,json}" check ${IN}/check-typo.json karim --format html)
cli_test(check_both_stdin 2 "MINE and FILE cannot both be standard input ('-')" check - -)
cli_test(check_mistyped_flag 2 "check has no flag --rtl: did you mean --rtol?" check ${IN}/check-typo.json karim --rtl 1)
cli_test(check_bad_example 2 "karimm" check ${IN}/check-typo.json --example karimm)
add_test(NAME cli.check_stdin COMMAND bash ${EXPECT} 0 "attn-trace check: <stdin> against"
         --stdin ${IN}/check-karim-right.json $<TARGET_FILE:attn-trace> check - karim)
