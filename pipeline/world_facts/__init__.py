"""World-fact extraction: trace text becomes typed (subject, predicate, object) facts, no LLM.

One module per job, imported directly (this file re-exports nothing): `fact` (the record and its
predicates), `lexicon` (the word lists), `spans` (phrase text from the parse), `assertion`
(whether a clause asserts a present fact), `clauses` (subject resolution), `rules` (which
structures yield which predicate) and `extract` (the model and the driver).
"""
