"""Ground truth of the couplets world: rhyme classes, topics, subjects and the words around them.

Each rhyme class holds four common nouns, one per topic, in ``TOPICS`` order, so that a topic and
a rhyme class together name exactly one noun. Every pair inside a class shares its rhyming part in
the CMU Pronouncing Dictionary (``pronouncing.rhyming_part``), and no two classes share one; the
tests check both.
"""

TOPICS: tuple[str, ...] = ("animals", "food", "objects", "nature")

# One noun per topic, in TOPICS order. The comment is the CMU rhyming part.
RHYME_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    ("snake", "cake", "rake", "lake"),  # EY1 K
    ("bee", "tea", "key", "sea"),  # IY1
    ("bear", "pear", "chair", "air"),  # EH1 R
    ("snail", "kale", "pail", "hail"),  # EY1 L
    ("swine", "wine", "twine", "pine"),  # AY1 N
    ("raccoon", "prune", "spoon", "moon"),  # UW1 N
    ("pig", "fig", "wig", "twig"),  # IH1 G
    ("crow", "dough", "hoe", "snow"),  # OW1
    ("crane", "grain", "cane", "rain"),  # EY1 N
    ("krill", "dill", "drill", "hill"),  # IH1 L
    ("thrush", "mush", "brush", "slush"),  # AH1 SH
    ("newt", "fruit", "flute", "root"),  # UW1 T
    ("goat", "oat", "boat", "moat"),  # OW1 T
    ("fly", "pie", "tie", "sky"),  # AY1
    ("ape", "grape", "tape", "cape"),  # EY1 P
    ("ewe", "stew", "glue", "dew"),  # UW1
)

# Who looks at things, by the topic whose noun ends their couplet.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "animals": ("hunter", "shepherd", "zookeeper", "vet"),
    "food": ("cook", "baker", "chef", "grocer"),
    "objects": ("tinker", "peddler", "janitor", "collector"),
    "nature": ("ranger", "hiker", "climber", "gardener"),
}

# Line 1 is "the SUBJECT VERB at the A"; line 2 is "FIRST , he VERB2 the B".
FIRST_LINE_VERBS: tuple[str, ...] = ("looked", "smiled", "stared", "pointed", "laughed", "waved")
SECOND_LINE_VERBS: tuple[str, ...] = ("found", "saw", "drew", "wanted")

# Planning demo: line 2 opens with an adjective that belongs to B alone.
ADJECTIVES: dict[str, str] = {
    "snake": "hissing", "cake": "sweet", "rake": "rusty", "lake": "deep",
    "bee": "buzzing", "tea": "hot", "key": "brass", "sea": "salty",
    "bear": "furry", "pear": "ripe", "chair": "wooden", "air": "cool",
    "snail": "slimy", "kale": "leafy", "pail": "leaky", "hail": "icy",
    "swine": "muddy", "wine": "red", "twine": "knotted", "pine": "evergreen",
    "raccoon": "masked", "prune": "wrinkled", "spoon": "silver", "moon": "full",
    "pig": "pink", "fig": "dried", "wig": "curly", "twig": "brittle",
    "crow": "black", "dough": "raw", "hoe": "sharp", "snow": "white",
    "crane": "tall", "grain": "golden", "cane": "crooked", "rain": "wet",
    "krill": "tiny", "dill": "fresh", "drill": "loud", "hill": "steep",
    "thrush": "singing", "mush": "soggy", "brush": "bristly", "slush": "grey",
    "newt": "spotted", "fruit": "juicy", "flute": "shiny", "root": "gnarled",
    "goat": "bearded", "oat": "rolled", "boat": "little", "moat": "murky",
    "fly": "pesky", "pie": "baked", "tie": "striped", "sky": "blue",
    "ape": "hairy", "grape": "purple", "tape": "sticky", "cape": "rocky",
    "ewe": "woolly", "stew": "thick", "glue": "gooey", "dew": "glistening",
}

# Control and lookback variants: line 2 opens with one of these, drawn at random (unrelated to B).
OPENERS: tuple[str, ...] = ("then", "so", "now", "and", "yet", "soon")
