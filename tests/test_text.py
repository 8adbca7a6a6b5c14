"""The character-level language model: vocabulary, corpus, model, sampling, and its CLI."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

import wengert as wg
from wengert import cli_text
from wengert.checkpoints import load
from wengert.cli import main
from wengert.text import (
    CharLSTM,
    CharVocabulary,
    bits_per_character,
    default_corpus,
    sample,
    windows,
)


def test_vocabulary_round_trips_and_names_unknown_characters():
    vocab = CharVocabulary.from_text("def f(x):\n    return x\n")
    ids = vocab.encode("return f(x)")
    assert ids.dtype == np.int32 and vocab.decode(ids) == "return f(x)"
    again = CharVocabulary.from_json(vocab.to_json())
    assert again.chars == vocab.chars and len(again) == len(vocab)
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the vocabulary.*'Q', 'Z'"):
        vocab.encode("QZ f")
    assert vocab.decode(vocab.encode("QZ f", errors="ignore")) == " f"
    with pytest.raises(ValueError, match="repeat"):
        CharVocabulary("aa")


def test_default_corpus_is_the_standard_library_in_sorted_order():
    text = default_corpus(5000)
    assert len(text) == 5000 and text == default_corpus(5000)
    assert default_corpus(20000).startswith(text)


def test_default_corpus_reads_a_folder_in_sorted_order(tmp_path):
    (tmp_path / "b.py").write_text("bbb")
    (tmp_path / "a.py").write_text("aa")
    (tmp_path / "_private.py").write_text("no")
    (tmp_path / "notes.txt").write_text("no")
    assert default_corpus(100, root=str(tmp_path)) == "aabbb"
    assert default_corpus(3, root=str(tmp_path)) == "aab"
    with pytest.raises(FileNotFoundError):
        default_corpus(10, root=str(tmp_path / "missing"))


def test_windows():
    x, y = windows(np.arange(10), 4)
    assert x.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert y.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    with pytest.raises(ValueError, match="one window"):
        windows(np.arange(3), 4)


def test_continuing_from_a_state_equals_one_long_pass():
    model = CharLSTM(vocab_size=7, embedding_dim=4, units=6, seed=1)
    x = np.random.default_rng(0).integers(0, 7, (2, 9))
    whole = model(x).numpy()
    first, state = model(x[:, :4], return_state=True)
    second = model(x[:, 4:], initial_state=state)
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], 1), whole, atol=1e-6)


def test_bits_per_character_is_the_mean_cross_entropy_in_bits():
    model = CharLSTM(vocab_size=5, embedding_dim=3, units=4, seed=2)
    ids = np.random.default_rng(1).integers(0, 5, 41)
    logits = model(ids[None, :-1]).numpy().astype("float64")[0]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -logp[np.arange(40), ids[1:]].mean() / np.log(2)
    got = bits_per_character(model, ids, length=7, streams=1)  # chunks carry the state
    assert got == pytest.approx(expected, rel=1e-5)


def test_sampling_is_seeded_and_greedy_at_temperature_zero():
    vocab = CharVocabulary.from_text("abc\n")
    model = CharLSTM(len(vocab), embedding_dim=3, units=4, seed=3)
    a = sample(model, vocab, "ab", length=20, temperature=1.0, seed=5)
    assert a == sample(model, vocab, "ab", length=20, temperature=1.0, seed=5)
    assert len(a) == 20 and set(a) <= set("abc\n")
    greedy = sample(model, vocab, "ab", length=5, temperature=0)
    ids = list(vocab.encode("ab"))
    for ch in greedy:  # each greedy character is the argmax after the text so far
        logits = model(np.array([ids])).numpy()[0, -1]
        assert vocab.chars[int(logits.argmax())] == ch
        ids.append(vocab.encode(ch)[0])
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            sample(model, vocab, "a", temperature=bad)
    # so small that the scaled logits overflow: the likeliest character, as at 0
    assert sample(model, vocab, "ab", length=5, temperature=1e-320) == greedy


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """A small text and a small model, so the command runs in seconds."""
    monkeypatch.setitem(cli_text.DEFAULTS, "units", 16)
    monkeypatch.setitem(cli_text.DEFAULTS, "seq_len", 20)
    path = tmp_path / "corpus.txt"
    path.write_text(default_corpus(12000))
    return path


def test_train_then_generate(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "char-lstm", "--text", str(tiny), "--epochs", "2"]
    assert main(args + ["--out", str(out), "--verbose", "2"]) == 0
    text = capsys.readouterr().out
    assert "held-out bits per character" in text and "sample after epoch 2" in text
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    assert history["loss"][1] < history["loss"][0]
    assert metrics["bits_per_character"] == pytest.approx(history["val_bits_per_character"][-1])
    assert sorted(os.listdir(out)) == [
        "checkpoint.npz",
        "config.json",
        "metrics.json",
        "vocab.json",
    ]

    gen = ["generate", "--checkpoint", str(out), "--prompt", "import ", "--length", "30"]
    assert main(gen + ["--seed", "4"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("import ") and len(first.rstrip("\n")) >= len("import ") + 20
    assert main(gen + ["--seed", "4"]) == 0
    assert capsys.readouterr().out == first
    ckpt = str(out / "checkpoint.npz")
    assert main(["generate", "--checkpoint", ckpt, "--prompt", "\u00df", "--length", "5"]) == 0
    assert "never saw" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(tmp_path / "nothing")]) == 2
    assert "does not hold a char-lstm run" in capsys.readouterr().err


def test_interrupted_run_resumes_exactly(tiny, tmp_path, monkeypatch, capsys):
    from wengert import cli_train

    base = ["train", "--model", "char-lstm", "--text", str(tiny), "--epochs", "2", "--verbose", "0"]
    assert main(base + ["--out", str(tmp_path / "whole")]) == 0

    calls = {"n": 0}

    def stop_after_four(self, batch, logs=None):
        calls["n"] += 1
        if calls["n"] == 4:  # mid-epoch: the position and the random streams must resume too
            self.signal = signal.SIGINT
            self.model.pause_training()

    with monkeypatch.context() as m:
        m.setattr(cli_train._Interrupt, "on_train_batch_end", stop_after_four)
        assert main(base + ["--out", str(tmp_path / "broken")]) == 128 + signal.SIGINT
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "broken"), "--verbose", "0"]) == 0
    whole, _ = load(str(tmp_path / "whole" / "checkpoint.npz"))
    resumed, _ = load(str(tmp_path / "broken" / "checkpoint.npz"))
    assert sorted(whole) == sorted(resumed)
    for k in whole:
        np.testing.assert_array_equal(whole[k], resumed[k], err_msg=k)


def test_resume_refuses_a_changed_text(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "char-lstm", "--text", str(tiny), "--epochs", "1", "--verbose", "0"]
    assert main(args + ["--out", str(out)]) == 0
    tiny.write_text(tiny.read_text() + "more")
    assert main(["train", "--resume", str(out)]) == 2
    assert "text changed" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2


def test_default_model_size():
    vocab_size = 96
    model = CharLSTM(vocab_size, cli_text.DEFAULTS["embedding_dim"], cli_text.DEFAULTS["units"])
    model(wg.zeros((1, 1), dtype="int32"))
    assert model.count_params() > 100_000


def test_a_new_run_stopped_early_cannot_resume_an_older_runs_checkpoint(
    tiny, tmp_path, monkeypatch, capsys
):
    from wengert import cli_train

    out = tmp_path / "run"
    base = ["train", "--model", "char-lstm", "--text", str(tiny), "--verbose", "0"]
    assert main(base + ["--epochs", "1", "--out", str(out)]) == 0
    old_checkpoint = (out / "checkpoint.npz").read_bytes()

    def killed(*args, **kwargs):  # dies before writing its first checkpoint
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(cli_train, "_fit_until_signal", killed)
        with pytest.raises(KeyboardInterrupt):
            main(base + ["--epochs", "3", "--seed", "1", "--out", str(out)])
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 2
    assert "belongs to an earlier run" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(out)]) == 2
    assert "belongs to an earlier run" in capsys.readouterr().err
    assert (out / "checkpoint.npz").read_bytes() == old_checkpoint


def test_resume_with_more_epochs_records_them_for_the_next_resume(tiny, tmp_path):
    out = tmp_path / "run"
    base = ["train", "--model", "char-lstm", "--text", str(tiny), "--verbose", "0"]
    assert main(base + ["--epochs", "1", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", "--verbose", "0"]) == 0
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2


@pytest.mark.parametrize(
    "vocab_json, config_change",
    [('{"chars": 5}', {}), ('["a", "b"]', {}), (None, {"units": None}), (None, {"optimizer": "x"})],
    ids=["chars not a list", "vocab a list", "config without units", "unknown optimizer"],
)
def test_generate_refuses_a_malformed_run_folder(tiny, tmp_path, capsys, vocab_json, config_change):
    out = tmp_path / "run"
    args = ["train", "--model", "char-lstm", "--text", str(tiny), "--epochs", "1", "--verbose", "0"]
    assert main(args + ["--out", str(out)]) == 0
    if vocab_json is not None:
        (out / "vocab.json").write_text(vocab_json)
    config = json.loads((out / "config.json").read_text())
    for k, v in config_change.items():
        if v is None:
            del config[k]
        else:
            config[k] = v
    (out / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(out), "--length", "5"]) == 2
    assert "wengert generate:" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(out), "--seed", "-1"]) == 2
