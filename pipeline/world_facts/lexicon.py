"""Small closed word lists that decide what a noun, adjective or verb means for a predicate.

The parser decides the structure; these lists decide the meaning.
"""

from __future__ import annotations

RELATIONS = {
    "mother": "mother", "mom": "mom", "mum": "mum", "father": "father", "dad": "dad",
    "parent": "parents", "sister": "sister", "brother": "brother", "sibling": "sibling",
    "son": "son", "daughter": "daughter", "kid": "kid", "child": "child", "wife": "wife",
    "husband": "husband", "partner": "partner", "spouse": "spouse", "boyfriend": "boyfriend",
    "girlfriend": "girlfriend", "fiance": "fiance", "fiancee": "fiancee", "friend": "friend",
    "boss": "boss", "manager": "manager", "colleague": "colleague", "coworker": "coworker",
    "roommate": "roommate", "grandmother": "grandmother", "grandma": "grandma",
    "grandfather": "grandfather", "grandpa": "grandpa", "aunt": "aunt", "uncle": "uncle",
    "cousin": "cousin", "dog": "dog", "cat": "cat",
}
SPOUSES = {"wife", "husband", "spouse"}
CHILDREN = {"son", "daughter", "kid", "child", "baby", "toddler", "stepson", "stepdaughter", "twin"}
SIBLINGS = {"sister", "brother", "sibling", "stepsister", "stepbrother"}
PETS = {
    "dog", "cat", "puppy", "kitten", "parrot", "hamster", "rabbit", "bunny", "fish", "goldfish",
    "turtle", "tortoise", "horse", "pony", "bird", "budgie", "snake", "lizard", "gecko",
    "guinea", "ferret", "chinchilla", "pet",
}
OCCUPATIONS = {
    "accountant", "analyst", "architect", "artist", "baker", "barista", "bartender", "carpenter",
    "chef", "cook", "consultant", "dentist", "designer", "developer", "doctor", "driver",
    "economist", "editor", "electrician", "engineer", "farmer", "firefighter", "journalist",
    "lawyer", "librarian", "manager", "mechanic", "musician", "nurse", "paramedic", "pharmacist",
    "photographer", "physician", "physicist", "pilot", "plumber", "professor", "programmer",
    "psychologist", "researcher", "scientist", "surgeon", "teacher", "technician", "therapist",
    "translator", "veterinarian", "vet", "writer", "pediatrician", "administrator", "student",
    "intern", "officer", "cashier", "clerk", "recruiter", "salesperson", "tutor", "lecturer",
    "founder", "ceo", "cto", "sysadmin", "devops", "statistician", "mathematician", "chemist",
    "biologist", "radiologist", "optometrist", "midwife", "waiter", "waitress", "janitor",
}
PERSONA_ADJECTIVES = {
    "vegetarian", "vegan", "pescatarian", "diabetic", "celiac", "coeliac", "intolerant",
    "left-handed", "right-handed", "colorblind", "colourblind", "deaf", "blind", "bilingual",
    "trilingual", "introverted", "extroverted", "extraverted", "shy", "single", "divorced",
    "widowed", "retired", "pregnant", "religious", "atheist", "sober", "nearsighted",
    "farsighted", "dyslexic", "autistic", "gluten-free", "kosher", "halal", "unemployed",
    "self-employed", "freelance",
}
# Nouns after "I'm a ..." that describe a moment or an amount, not a person.
NOT_PERSONA_NOUNS = {"bit", "lot", "little", "mess", "fan", "part", "member", "way", "kind",
                     "sort", "couple", "fraction", "while", "minute", "second", "moment"}
LANGUAGE_ENTS = {"LANGUAGE", "NORP"}
PLACE_ENTS = {"GPE", "LOC", "FAC"}
# The small model often tags an unknown first name as GPE, ORG or NORP, so a proper-noun subject
# is refused only when it is clearly not a person or an organisation.
NOT_SUBJECT_ENTS = {"DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL", "LAW",
                    "LANGUAGE"}

LIKE_VERBS = {"like", "love", "enjoy", "adore"}
DISLIKE_VERBS = {"hate", "dislike", "detest", "loathe", "despise"}
# Modal or future auxiliaries make a clause hypothetical, not a fact.
HYPOTHETICAL_AUX = {"would", "could", "might", "should", "may", "must", "will", "shall", "can"}
# "If I lived ...", "for when I have kids": conditions and future times, not facts.
CONDITIONAL_MARKS = {"if", "unless", "whether", "when", "whenever", "once", "until", "till"}
WH_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
HEDGES = {"probably", "maybe", "perhaps", "possibly", "apparently"}
HEDGE_VERBS = {"think", "guess", "believe", "suppose", "assume"}  # "I think I'm vegetarian"
# Objects that only point at something said elsewhere, or only count it.
DEICTIC = {"this", "that", "these", "those", "it", "them", "one", "something", "anything",
           "everything", "nothing", "here", "there", "few", "lot", "lots", "more", "some", "many",
           "much", "all", "both", "which", "what", "myself", "yourself", "ton", "tons", "bit"}
# Past tense is history, not a current belief, except for verbs whose past implies a present.
PAST_OK = {"move", "join", "bear", "marry", "grow", "relocate"}
KEY_VERBS = LIKE_VERBS | DISLIKE_VERBS | {"prefer"}
DROP_WORDS = {"anymore", "now", "too", "also", "really", "so", "very", "currently", "still",
              "honestly", "actually", "just"}
DETERMINERS = {"a", "an", "the", "my", "our", "your", "some", "any", "his", "her", "their"}
