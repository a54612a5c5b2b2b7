"""seqforge-seq2seq: translation (sequence to sequence), parallel data, BPE subwords, BLEU/chrF, the dates demo."""
