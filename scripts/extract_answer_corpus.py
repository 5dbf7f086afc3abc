"""One-off: build streamui/testing/data/answers.jsonl from the GPT-4o trace capture.

Usage: python scripts/extract_answer_corpus.py PATH/TO/traces/gpt4o > streamui/testing/data/answers.jsonl
The answers are real GPT-4o responses (MIT, see streamui/testing/data/README.md); the
simulated LLM cuts them into real tiktoken tokens and times them by profile.
"""

import json
import sys
from pathlib import Path


def main(folder: str) -> None:
    for path in sorted(Path(folder).glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        about = str(header.get("about", ""))
        prompt = about.split("prompt: ", 1)[1] if "prompt: " in about else ""
        text = "".join(json.loads(line).get("text", "") for line in lines[1:] if line.strip())
        if prompt and len(text) > 200:
            print(json.dumps({"prompt": prompt, "answer": text}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
