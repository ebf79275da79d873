"""Twenty feeds of your own for the benchmark, the kinds of filter readers set up.

Topics are phrases from the sample's abstracts and titles (the generator builds every
paper from them), people are names from the sample, and some feeds narrow by status
or certification. On the generated history each feed holds 0.3-25% of the papers,
so at 50,000 papers most fill their 500-entry window, and most get a new entry from
a weekly digest: most of them are rendered again in an incremental run.
"""

FEEDS = [
    {"name": "privacy", "match": ["differential privacy", "DP-SGD"], "exclude": ["federated"]},
    {"name": "rl", "match": ["reinforcement learning"], "status": ["accepted", "certified"]},
    {"name": "federated", "match": ["federated learning"]},
    {"name": "gnn", "match": ["graph neural networks"]},
    {"name": "variational", "match": ["variational inference", "Bayesian inference"]},
    {"name": "time-series", "match": ["time series", "time-series"]},
    {"name": "ood", "match": ["out-of-distribution", "distribution shifts"]},
    {"name": "spiking", "match": ["spiking neural networks"]},
    {"name": "pac-bayes", "match": ["PAC-Bayes"], "status": ["accepted", "certified"]},
    {"name": "backdoor", "match": ["backdoor", "backdoors"]},
    {"name": "pineau", "authors": ["Joelle Pineau"]},
    {"name": "guedj", "authors": ["Benjamin Guedj"], "match": ["generalization"]},
    {"name": "gribonval", "authors": ["Rémi Gribonval", "Aurélien Garivier"], "status": ["certified"]},
    {"name": "panda", "authors": ["Priyadarshini Panda"], "match": ["neural networks"]},
    {"name": "slotine", "authors": ["Jean-Jacques Slotine"], "exclude": ["reinforcement learning"]},
    {"name": "featured", "certifications": ["Featured Certification"]},
    {"name": "surveys", "certifications": ["Survey Certification"], "match": ["learning"]},
    {"name": "reproducibility", "certifications": ["Reproducibility"]},
    {"name": "code", "match": ["code generation", "programming language"], "status": ["submitted"]},
    {"name": "vision-language", "match": ["vision-language"], "exclude": ["few-shot"]},
]


def toml(count: int) -> str:
    """The first ``count`` feeds as a digest2feed.toml."""
    import json

    out = []
    for feed in FEEDS[:count]:
        out.append("[[feeds]]")
        out += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in feed.items()]
    return "\n".join(out) + "\n"
