import json, os, re, html, sys
root = sys.argv[1]
def visible(path):
    t = open(path, encoding="utf-8").read()
    t = re.sub(r"<(script|style|head)[^>]*>.*?</\1>", " ", t, flags=re.S|re.I)
    t = re.sub(r"</?(a|strong|em|span|b|i)\b[^>]*>", "", t, flags=re.I)
    t = re.sub(r"<[^>]+>", " ", t)
    t = html.unescape(t)
    t = re.sub(r"\s+", " ", t)
    return t
qs = [json.loads(l) for l in open(os.path.join(root, "questions.jsonl"), encoding="utf-8")]
keys = [json.loads(l) for l in open(os.path.join(root, "answer-keys.jsonl"), encoding="utf-8")]
kmap = {k["question"]: k for k in keys}
errs = []
seen = set()
for q in qs:
    assert set(q) == {"question", "collection", "sources"}, q
    if q["question"] in seen: errs.append("dup " + q["question"])
    seen.add(q["question"])
    if q["collection"] != "petitions": errs.append("collection " + q["question"])
    for s in q["sources"]:
        p = os.path.join(root, "documents", s.split("/", 1)[1])
        if not s.startswith("petitions/") or not os.path.exists(p): errs.append("missing " + s)
    if q["sources"]:
        k = kmap.get(q["question"])
        if not k: errs.append("no key " + q["question"]); continue
        texts = [visible(os.path.join(root, "documents", s.split("/", 1)[1])) for s in q["sources"]]
        for sn in k["any_of"]:
            n = len(sn.split())
            if not (3 <= n <= 15): errs.append(f"len {n}: {sn}")
            if not any(sn in t for t in texts): errs.append("snippet not found: " + sn)
    elif q["question"] in kmap: errs.append("key for unanswerable " + q["question"])
for k in keys:
    assert k["set"] == "external-petitions"
    if k["question"] not in seen: errs.append("orphan key " + k["question"])
a = sum(1 for q in qs if q["sources"]); u = len(qs) - a
print(f"questions={len(qs)} answerable={a} unanswerable={u} share={u/len(qs):.3f} keys={len(keys)}")
if u / len(qs) < 1/3: errs.append("unanswerable share < 1/3")
print("\n".join(errs) if errs else "OK")
