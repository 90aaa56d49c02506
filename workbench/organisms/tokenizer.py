"""A word-level tokenizer for an organism's world, usable by HookedTransformer.

Each word of the world is one token (multi-word names are joined with ``_``: ``San_Antonio``).
TransformerLens needs a Hugging Face tokenizer; we build a ``PreTrainedTokenizerFast`` around a
``tokenizers`` WordLevel model that prepends ``<bos>`` itself, with ``init_kwargs["name_or_path"]``
and ``add_bos_token`` set so that ``HookedTransformer.set_tokenizer`` never reaches for the hub.

A word outside the vocabulary raises ``UnknownWordError`` naming it and the closest words: nothing
is silently mapped to an unknown token.
"""

from __future__ import annotations

import difflib

from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, BOS, EOS)


class UnknownWordError(ValueError):
    """A prompt used a word that is not in the world's vocabulary."""


class WorldTokenizer(PreTrainedTokenizerFast):
    """``PreTrainedTokenizerFast`` that refuses words outside its vocabulary."""

    def _check_words(self, texts) -> None:
        vocab = self.get_vocab()
        for text in texts:
            if isinstance(text, (tuple, list)):
                self._check_words(text)
                continue
            for word in str(text).split():
                if word not in vocab:
                    close = difflib.get_close_matches(word, list(vocab), n=3, cutoff=0.5)
                    hint = f"; closest words: {', '.join(close)}" if close else ""
                    world = self.init_kwargs.get("name_or_path", "this world")
                    raise UnknownWordError(f"{word!r} is not in the vocabulary of {world}{hint}")

    def _batch_encode_plus(self, batch_text_or_text_pairs, *args, **kwargs):
        self._check_words(batch_text_or_text_pairs)
        return super()._batch_encode_plus(batch_text_or_text_pairs, *args, **kwargs)

    def _encode_plus(self, text, text_pair=None, *args, **kwargs):
        self._check_words([text] if text_pair is None else [text, text_pair])
        return super()._encode_plus(text, text_pair, *args, **kwargs)


def build_tokenizer(words: list[str], name: str) -> WorldTokenizer:
    """Tokenizer with ids ``<pad>``=0, ``<bos>``=1, ``<eos>``=2, then ``words`` in the given order."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    duplicates = sorted({w for w in words if words.count(w) > 1})
    if duplicates:
        raise ValueError(f"vocabulary of {name} lists words twice: {duplicates[:10]}")
    clashes = [w for w in words if w in SPECIAL_TOKENS or not w or any(c.isspace() for c in w)]
    if clashes:
        raise ValueError(f"vocabulary of {name} has invalid words: {clashes[:10]}")
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *words])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=None))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab[BOS])]
    )
    core.decoder = decoders.WordPiece(prefix="\x00", cleanup=False)  # joins words with spaces
    tokenizer = WorldTokenizer(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        name_or_path=f"workbench/{name}",
        add_bos_token=True,
        padding_side="right",
    )
    tokenizer.init_kwargs["name_or_path"] = f"workbench/{name}"
    tokenizer.init_kwargs["add_bos_token"] = True
    return tokenizer
