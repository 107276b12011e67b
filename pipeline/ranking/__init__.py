"""Ranking: how a search's candidate lists become its ordered, explained, budgeted results (pure).

The steps, in the order a search takes them: `fusion` (the two channels into one list), `boosts`
(feedback, recency), `folding` (near duplicates into what they repeat), `mmr` (diversity, when on),
`results` (each result and its `why`; `ranked_results` runs the steps above) and `budget` (the cut).
"""
