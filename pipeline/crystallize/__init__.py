"""Crystallize: repeated successful tool-call episodes become a named, versioned, callable skill.

Episodes of the same kind of task (similar task text) that used a similar sequence of tools
form a group; a group with at least `min_support` successes becomes a skill whose steps are the
group's most common tool sequence, with every argument that varied across the examples turned
into a `{param}` placeholder (and string arguments built from other parameters, such as an image
name `registry/{service}:{tag}`, into templates). New evidence makes a new version; failures
count as runs and lower the success rate. Everything here is pure and deterministic.

One module per job, imported directly (this file re-exports nothing): `config` (the thresholds),
`skill` (the record and its JSON form), `similarity` (how alike two tasks or tool sequences
are), `grouping` (episodes into groups), `template` (steps and parameters learned from example
calls), `wording` (name, description, when to use), `versions` (new versions and run counts),
`decide` (`crystallize()`: which skills and versions a batch of episodes gives rise to) and
`render` (the procedure and tool definitions an agent calls).
"""
