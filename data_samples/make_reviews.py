"""Generate a small synthetic product-review dataset (data_samples/reviews.csv).

Deterministic and standard-library only: running it twice gives byte-identical
output. All text comes from the hand-written templates below.

Usage (from the repository root):
    python data_samples/make_reviews.py
"""

import csv
import random
from pathlib import Path

SEED = 20240607
OUT_PATH = Path(__file__).resolve().parent / "reviews.csv"

# Number of reviews per star rating (450 in total).
STAR_COUNTS = {1: 45, 2: 35, 3: 60, 4: 110, 5: 200}
# Distinct one-liners per star, and how many extra rows repeat one of them
# (the repeats are the exact duplicates: 14 rows, about 3%).
SHORT_UNIQUE = {1: 3, 2: 2, 3: 3, 4: 4, 5: 6}
SHORT_REPEATS = {1: 2, 2: 1, 3: 2, 4: 3, 5: 6}

# (product name, how a reviewer refers to it, singular noun, product-specific aspects)
PRODUCTS = (
    ("smart speaker", "this speaker", "speaker", ("sound", "microphone", "app")),
    ("wireless earbuds", "these earbuds", "pair of earbuds", ("sound", "battery life", "fit", "noise cancelling")),
    ("robot vacuum", "this vacuum", "robot vacuum", ("suction", "battery life", "navigation", "noise level", "app")),
    ("e-reader", "this e-reader", "e-reader", ("screen", "battery life", "weight")),
    ("fitness tracker", "this tracker", "tracker", ("battery life", "app", "screen", "strap")),
    ("coffee maker", "this coffee maker", "coffee maker", ("coffee taste", "noise level", "cleanup")),
    ("electric kettle", "this kettle", "kettle", ("boil time", "noise level", "lid")),
    ("power bank", "this power bank", "power bank", ("charging speed", "capacity", "size")),
    ("desk lamp", "this lamp", "lamp", ("brightness", "dimmer", "size")),
    ("blender", "this blender", "blender", ("motor", "noise level", "cleanup")),
)
GENERIC_ASPECTS = ("setup", "build quality", "price", "customer service", "delivery", "design")

SHORT = {
    5: ("Love it!", "Perfect.", "Absolutely love it!", "Five stars.", "Exactly what I needed.",
        "Couldn't be happier!", "Amazing!", "Great product, no complaints."),
    4: ("Works well.", "Pretty good.", "Good value.", "Does what it says.", "Happy with it.", "Solid purchase."),
    3: ("It's okay.", "It's fine.", "Meh.", "Average.", "Does the job, I guess.", "Nothing special."),
    2: ("Not great.", "Disappointing.", "Meh, expected better.", "Wouldn't buy again.", "Looks nice, that's it."),
    1: ("Terrible.", "Waste of money.", "Broke in a week.", "Don't buy.", "Junk."),
}

OPENINGS = {
    5: ("Absolutely love {ref}.", "Best purchase I've made this year.", "This exceeded my expectations.",
        "I was skeptical at first, but {ref} won me over.", "Honestly can't complain about a thing.",
        "Bought this as a gift and ended up getting one for myself.", "Wow, just wow.",
        "Been using {ref} daily for two months now.", "Couldn't be happier with {ref}.",
        "So glad I picked {ref}.", "Replaced my old {noun} with this and no regrets.", "Five stars, easily.",
        "My partner and I both love {ref}.", "This is how a {noun} should be made."),
    4: ("Really happy with {ref} overall.", "Pretty good {noun} for the money.", "Not bad at all.",
        "Solid little {noun}.", "Does pretty much everything I wanted.", "Good {noun}, a few small quirks.",
        "Had {ref} for a few weeks now and I like it.", "Better than the last {noun} I owned.",
        "Pretty happy, though not perfect.", "Would have been five stars if not for one thing.",
        "A good {noun}, just not a great one."),
    3: ("It's fine, does the job, nothing special.", "Mixed feelings about {ref}.", "Decent, but not great.",
        "I wouldn't say it's great, but it's not terrible either.", "It's an okay {noun}.",
        "Some things I like, some I don't.", "Middle of the road.", "Not bad, not amazing.",
        "Hard to rate {ref}.", "It works, mostly.", "Three stars feels right for {ref}."),
    2: ("Disappointed with {ref}.", "Wanted to like {ref}, I really did.", "Not what I hoped for.",
        "Expected a lot more from {ref}.", "Not the worst {noun} I've had, but close.",
        "I don't hate it, but I wouldn't buy it again.", "Meh.", "Two stars, and I'm being generous.",
        "Started out fine, went downhill fast."),
    1: ("Complete waste of money.", "Great, another {noun} that dies in a week.", "Do not buy {ref}.",
        "Oh wonderful, it stopped working on day three.", "{ref} never worked properly.",
        "Five stars for the packaging, zero for everything else.", "Worst {noun} I have ever owned.",
        "Just fantastic, it broke the day after the return window closed.", "Avoid.",
        "Love how it turns itself off whenever it feels like it.", "Total junk."),
}

# Sentiment-free context sentences, shared by all star ratings.
CONTEXT = ("Bought {ref} on sale last month.", "Ordered {ref} after reading a lot of reviews.",
           "Got {ref} as a birthday present.", "I use {ref} every day.", "This replaced my old {noun}.",
           "Bought this for our new place.", "Picked {ref} up for my parents.", "Second {noun} I've owned.")
# Openings and closings are sometimes borrowed from a neighbouring rating, as real reviews are noisy.
NEIGHBOURS = {5: (4,), 4: (5, 3), 3: (4, 2), 2: (3, 1), 1: (2,)}

CLOSINGS = {
    5: ("Highly recommend!", "Would buy again in a heartbeat.", "Can't recommend it enough.",
        "Worth every penny.", "Ten out of ten.", "No regrets at all.",
        "Update after three months: still going strong.", "Already recommended it to friends."),
    4: ("Would recommend.", "Minor gripes aside, I'd buy it again.", "Worth it.", "Overall a good buy.",
        "Four stars, only because nothing is perfect.", "Can't complain really.", "I'd buy again, on sale."),
    3: ("Might keep it, might return it.", "You get what you pay for.", "Wouldn't go out of my way to recommend it.",
        "It works, that's about it.", "Fine if it's on sale.", "Not sure I'd buy it again.", "Still undecided."),
    2: ("Probably returning it.", "Can't really recommend it.", "Expected more for the price.",
        "Maybe I got a bad one.", "Not worth the full price.", "Update: it started acting up after a month."),
    1: ("Returning it.", "Never again.", "Save your money.", "Zero stars if I could.", "Thanks for nothing."),
}

ASPECT_TEMPLATES = {
    "pos": ("The {a} is excellent.", "Really impressed with the {a}.", "Can't complain about the {a}.",
            "The {a} is not bad at all, better than I expected.", "No issues with the {a} so far.",
            "Can't fault the {a}.", "The {a} is great.", "Pleasantly surprised by the {a}.",
            "Never had a problem with the {a}.", "Not a single complaint about the {a}.",
            "Zero issues with the {a}, which I didn't expect at this price."),
    "neg": ("The {a} is a real letdown.", "Not impressed with the {a}.", "The {a} could be a lot better.",
            "I wouldn't call the {a} good by any stretch.", "Honestly the {a} is terrible.",
            "The {a} is not great.", "Big problems with the {a}.", "The {a} is a joke.",
            "The {a} is supposed to be great, but it isn't.", "I wanted to love the {a}, but no.",
            "Would be great if the {a} actually worked."),
    "meh": ("The {a} is okay, nothing special.", "The {a} is fine, I guess.", "The {a} is about average.",
            "The {a} is neither great nor terrible.", "The {a} is passable.", "No strong feelings about the {a}.",
            "The {a} isn't bad, isn't great either.", "Can't say the {a} impressed me, but it's not awful."),
}
MIXED_TEMPLATES = ("The {p} is great, but the {n} is a letdown.", "Love the {p}; not a fan of the {n}.",
                   "Good {p}, poor {n}.", "The {p} is solid, though the {n} could be much better.",
                   "Great {p}, shame about the {n}.", "The {n} is disappointing, but at least the {p} is good.")
# Concrete aspect sentences, used instead of the generic templates about half the time.
ASPECT_DETAILS = {
    "sound": {"pos": ("Sound is rich and clear, even at high volume.", "The bass is surprisingly full."),
              "neg": ("Sound gets tinny when you turn it up.", "The audio cuts out every few minutes.")},
    "battery life": {"pos": ("Battery easily lasts a few days.", "Battery life is better than advertised."),
                     "neg": ("Battery barely lasts the afternoon.", "The battery drains even when it's off.")},
    "setup": {"pos": ("Setup took about five minutes.", "Setup was painless, even for me."),
              "neg": ("Setup took over an hour and two resets.", "Setup never worked properly.")},
    "app": {"pos": ("The app is simple and actually useful.", "The companion app is clean and fast."),
            "neg": ("The app crashes constantly.", "The app never worked properly.")},
    "customer service": {"pos": ("Customer service replaced a faulty part in days.", "Support replied in an hour."),
                         "neg": ("Customer service kept me on hold for 40 minutes, then hung up.",
                                 "Customer service never replied to my emails.")},
    "delivery": {"pos": ("Arrived a day early and well packed.", "Delivery was quick."),
                 "neg": ("Delivery took three weeks, box crushed.", "Arrived with a scratch on the side.")},
    "price": {"pos": ("For the price, it's a steal.", "Half the price of the big names and just as good."),
              "neg": ("Way overpriced for what you get.", "You're paying for the box, not the product.")},
    "design": {"pos": ("It looks great, very clean lines.",), "neg": ("The buttons are tiny and hard to press.",)},
    "build quality": {"pos": ("Feels sturdy and well made.", "Survived a fall off the table without a scratch."),
                      "neg": ("Feels cheap and plasticky.", "A piece snapped off in the first week.")},
    "suction": {"pos": ("It picks up pet hair like nothing.",), "neg": ("It leaves crumbs on every pass.",)},
    "navigation": {"pos": ("It maps rooms without getting stuck.",), "neg": ("It gets stuck under the sofa daily.",)},
    "screen": {"pos": ("The screen is easy to read in sunlight.",), "neg": ("The screen is dim outdoors.",)},
    "coffee taste": {"pos": ("Makes a genuinely good cup.",), "neg": ("The coffee comes out weak and lukewarm.",)},
    "noise level": {"pos": ("It's quieter than I expected.",), "neg": ("It's so loud it wakes up the whole house.",)},
}

SENTENCE_LIMIT = 4
# Share of reviews whose wording fits a neighbouring rating (real raters are inconsistent too).
OFF_TONE_SHARE = 0.08


def capitalize(sentence):
    return sentence[:1].upper() + sentence[1:]


def fill(template, product):
    name, ref, noun, _ = product
    return capitalize(template.format(ref=ref, noun=noun, product=name))


def pick_frame(pools, stars, rng, neighbour_share):
    """A template from this rating's pool, or now and then from a neighbouring rating's."""
    if rng.random() < neighbour_share:
        pool = pools[rng.choice(NEIGHBOURS[stars])]
        return rng.choice([t for t in pool if "stars" not in t.lower()])
    return rng.choice(pools[stars])


def aspect_plan(stars, count, rng):
    """Polarity ('pos', 'neg', 'meh') for each aspect mentioned in a review."""
    base = {5: "pos", 4: "pos", 3: "meh", 2: "neg", 1: "neg"}[stars]
    plan = [base] * count
    if stars == 5 and count > 1 and rng.random() < 0.15:
        plan[-1] = "meh"
    elif stars == 4 and count > 1 and rng.random() < 0.4:
        plan[-1] = rng.choice(("meh", "neg"))
    elif stars == 3 and count > 1:
        if rng.random() < 0.7:
            plan[0], plan[1] = "pos", "neg"
        elif rng.random() < 0.3:
            plan[-1] = rng.choice(("pos", "neg"))
    elif stars == 2 and count > 1 and rng.random() < 0.35:
        plan[0] = rng.choice(("pos", "meh"))
    return plan


def aspect_sentence(aspect, polarity, templates, rng):
    """A concrete detail sentence, or the next unused generic template for this polarity."""
    details = ASPECT_DETAILS.get(aspect, {}).get(polarity)
    if details and rng.random() < 0.5:
        return rng.choice(details)
    return capitalize(templates[polarity].pop().format(a=aspect))


def aspect_sentences(stars, product, rng):
    """One to three aspect comments; a good and a bad aspect are often merged into one sentence."""
    pool = product[3] + GENERIC_ASPECTS
    aspects = rng.sample(pool, rng.choice((1, 1, 2, 2, 2, 3)))
    pairs = list(zip(aspects, aspect_plan(stars, len(aspects), rng)))
    templates = {pol: rng.sample(pool, len(pool)) for pol, pool in ASPECT_TEMPLATES.items()}
    pos = [a for a, p in pairs if p == "pos"]
    neg = [a for a, p in pairs if p == "neg"]
    if pos and neg and rng.random() < 0.6:
        merged = rng.choice(MIXED_TEMPLATES).format(p=pos[0], n=neg[0])
        rest = [aspect_sentence(a, p, templates, rng) for a, p in pairs if a not in (pos[0], neg[0])]
        return [capitalize(merged)] + rest
    return [aspect_sentence(a, p, templates, rng) for a, p in pairs]


def compose_review(stars, product, rng):
    """Opening (optional) + aspect comments + closing (optional), at most four sentences."""
    sentences = aspect_sentences(stars, product, rng)
    if rng.random() < 0.75:
        sentences.insert(0, fill(pick_frame(OPENINGS, stars, rng, 0.25), product))
    if rng.random() < 0.25:
        sentences.insert(0, fill(rng.choice(CONTEXT), product))
    if rng.random() < 0.55:
        sentences.append(fill(pick_frame(CLOSINGS, stars, rng, 0.25), product))
    while len(sentences) > SENTENCE_LIMIT:
        sentences.pop(-2)  # drop an aspect comment, keep opening and closing
    return " ".join(sentences)


def reviews_for_star(stars, rng, seen):
    """All (product, text) pairs for one star rating, with planned short duplicates."""
    shorts = rng.sample(SHORT[stars], SHORT_UNIQUE[stars])
    shorts += [rng.choice(shorts) for _ in range(SHORT_REPEATS[stars])]
    seen.update(shorts)
    rows = [(rng.choice(PRODUCTS)[0], text) for text in shorts]
    while len(rows) < STAR_COUNTS[stars]:
        product = rng.choice(PRODUCTS)
        tone = rng.choice(NEIGHBOURS[stars]) if rng.random() < OFF_TONE_SHARE else stars
        text = compose_review(tone, product, rng)
        if text not in seen:  # keep composed reviews unique
            seen.add(text)
            rows.append((product[0], text))
    return rows


def build_rows(rng):
    seen, rows = set(), []
    for stars in sorted(STAR_COUNTS):
        rows += [(product, stars, text) for product, text in reviews_for_star(stars, rng, seen)]
    rng.shuffle(rows)
    return [(i, product, stars, text) for i, (product, stars, text) in enumerate(rows, start=1)]


def main():
    rows = build_rows(random.Random(SEED))
    with OUT_PATH.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("review_id", "product", "stars", "review"))
        writer.writerows(rows)
    print(f"wrote {len(rows)} reviews to {OUT_PATH}")


if __name__ == "__main__":
    main()
