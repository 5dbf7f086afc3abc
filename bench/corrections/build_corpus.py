# ruff: noqa: E501  (the cases below are data, one a line)
"""Builds bench/corrections/corpus.jsonl and, given a second path, the playground's derived
streamui/testing/data/corrections.jsonl:

    python bench/corrections/build_corpus.py bench/corrections/corpus.jsonl streamui/testing/data/corrections.jsonl
"""
import hashlib
import json
import sys

SRC = {
    "issue10": "streamui issue 10 (issues show 10): phrasings gathered from model output, quoted there",
    "s1": "https://zhubert.com/intro-to-transformers/reasoning-with-transformers/budget-forcing",
    "s1paper": "https://arxiv.org/abs/2501.19393",
    "r1": "https://preview-www.nature.com/articles/s41586-025-09422-z/tables/1",
    "xeiaso": "https://xeiaso.net/notes/2025/s1-simple-test-time-scaling/",
    "rumba": "https://github.com/mdn/rumba/pull/427",
    "cc3382": "https://github.com/anthropics/claude-code/issues/3382",
    "cc27683": "https://github.com/anthropics/claude-code/issues/27683",
    "opencode": "https://github.com/anomalyco/opencode/issues/44958",
    "agentbeck": "https://agentbeck.bot/report/75405",
    "dubiel": "https://paweldubiel.com/20251112233300⁝-Self-Correction-(Language-Models) (after arXiv 2506.15894)",
    "tebbs": "https://www.bricetebbs.com/2024/01/09/do-llms-talk-the-way-humans-do/",
    "blackseed": "https://blackseedusa.com/error-messages-and-feedback-prompts-that-help-llms-self-correct",
    "grammar": "github:ashokkumardeveloper/server templates/grammar_template.py",
    "grammar2": "github:vscarpenter/llm-prompts prompts/writing/grammar_check.md",
    "tutor": "github:zer-art/LLM-Projects Mysql-database-chatbot/Mysql-database-chatbot/Ai-Grammer-Tutor/src/prompts.py",
    "gpt4all": "https://github.com/nomic-ai/gpt4all/issues/343",
    "gpt4allchat": "https://github.com/nomic-ai/gpt4all-chat/issues/5",
    "everipedia": "https://github.com/EveripediaNetwork/issues/issues/2986",
    "aicli": "https://github.com/abhagsain/ai-cli/issues/54",
    "shorty": "https://github.com/apoorvaron/Shorty/issues/108",
    "vscode": "https://github.com/microsoft/vscode/issues/331261",
    "illusion": "https://arxiv.org/html/2601.00514v1",
    "aha": "https://arxiv.org/html/2504.02956v1",
    "profile": "streamui/upstream/profiles.py (the simulated corrections profile's openers and claims)",
}

# (id, text, label, retracted, expected, category, source, provenance)
# expected: the visible answer under `replace`; ~~x~~ is text shown struck through.
T = True
F = False
CASES = [
 # ---- the failures issue 10 lists, byte for byte ----
 ("downloads-documents", "The file is in Downloads. I mean, it's in Documents.", T, "The file is in Downloads.", "It's in Documents.", "i-mean-correction", "issue10", "quoted"),
 ("call-five-six", "Call me at five. Sorry, I meant six.", T, "Call me at five.", "~~Call me at five.~~ Sorry, I meant six.", "sorry-correction", "issue10", "quoted"),
 ("double-check-12", "Let me solve this. 5 + 7 = 12. The answer is 12. Wait, let me double-check. 5 + 7... yes, 12 is correct.", F, None, None, "confirmation", "s1", "quoted"),
 ("refusal-contents", "Sorry, I can't share its contents.", F, None, None, "refusal", "issue10", "quoted"),
 ("bats-blind", "Most people assume bats are blind. Actually, all bat species can see.", F, None, None, "myth-busting", "issue10", "quoted"),
 ("tutor-original", "Original: She go to school every day.\nCorrection: She goes to school every day.", F, None, None, "user-text-correction", "grammar", "adapted"),
 ("quoted-wait-she-said", "\"Wait,\" she said, \"you forgot your keys.\"", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("em-dash-correction", "The meeting is on Monday. Correction—it's on Tuesday.", T, "The meeting is on Monday.", "It's on Tuesday.", "correction-label", "issue10", "adapted"),
 ("no-wait", "The train leaves at 9:15. No wait, it leaves at 9:45.", T, "The train leaves at 9:15.", "It leaves at 9:45.", "no-wait", "issue10", "adapted"),
 ("scratch-that", "Use port 8000 for the admin site. Scratch that, the admin site runs on port 8080.", T, "Use port 8000 for the admin site.", "The admin site runs on port 8080.", "scratch-that", "issue10", "adapted"),
 ("second-thought", "You could store the sessions in a cookie. On second thought, a database table is safer for this.", T, "You could store the sessions in a cookie.", "A database table is safer for this.", "second-thought", "issue10", "adapted"),
 ("i-apologize", "The function returns a list. I apologize, it returns a generator, not a list.", T, "The function returns a list.", "It returns a generator, not a list.", "apology-correction", "issue10", "adapted"),
 ("oops-meant", "Press Ctrl+S to open the file. Oops, I meant Ctrl+O.", T, "Press Ctrl+S to open the file.", "~~Press Ctrl+S to open the file.~~ Oops, I meant Ctrl+O.", "oops", "issue10", "adapted"),
 ("correct-myself", "Python 3.8 added the match statement. Let me correct myself: pattern matching arrived in Python 3.10.", T, "Python 3.8 added the match statement.", "Pattern matching arrived in Python 3.10.", "correct-myself", "issue10", "adapted"),
 ("i-was-wrong", "Both packages are abandoned. I was wrong about both: each had a release this month.", T, "Both packages are abandoned.", "Each had a release this month.", "i-was-wrong", "cc27683", "adapted"),
 # ---- true self-corrections ----
 ("sydney-canberra", "The capital of Australia is Sydney. Actually, it is Canberra.", T, "The capital of Australia is Sydney.", "It is Canberra.", "actually-correction", "profile", "adapted"),
 ("plane-denver", "The plane arrives in Denver at 2pm. No, I mean 3pm.", T, "The plane arrives in Denver at 2pm.", "~~The plane arrives in Denver at 2pm.~~ No, I mean 3pm.", "i-mean-correction", "tebbs", "quoted"),
 ("wait-recalc", "So the total cost is $42. Wait, that's wrong — let me recalculate: 3 × $12 is $36.", T, "So the total cost is $42.", "Let me recalculate: 3 × $12 is $36.", "wait-correction", "agentbeck", "adapted"),
 ("wait-correct-that", "The loop runs n² times. Wait, let me correct that: it runs n times, once per item.", T, "The loop runs n² times.", "It runs n times, once per item.", "wait-correction", "dubiel", "adapted"),
 ("revise-previous", "Yes, that's correct. Let me revise my previous answer. The flag was removed in version 2.", T, "Yes, that's correct.", "The flag was removed in version 2.", "revise", "cc3382", "adapted"),
 ("apologize-confusion", "The limit is 100 requests per minute. I apologize for the confusion: the limit is 60 requests per minute.", T, "The limit is 100 requests per minute.", "The limit is 60 requests per minute.", "apology-correction", "cc3382", "adapted"),
 ("so-i-was-incorrect", "The API accepts XML. So I was incorrect: it only accepts JSON.", T, "The API accepts XML.", "It only accepts JSON.", "i-was-wrong", "cc3382", "adapted"),
 ("actually-no", "The default timeout is 30 seconds. Actually, no, the default is 60 seconds.", T, "The default timeout is 30 seconds.", "The default is 60 seconds.", "actually-correction", "issue10", "adapted"),
 ("wait-no", "Mercury is the hottest planet. Wait, no, Venus is hotter because of its thick atmosphere.", T, "Mercury is the hottest planet.", "Venus is hotter because of its thick atmosphere.", "wait-correction", "issue10", "adapted"),
 ("correction-colon", "The Eiffel Tower was finished in 1899. Correction: it was completed in 1889.", T, "The Eiffel Tower was finished in 1899.", "It was completed in 1889.", "correction-label", "profile", "adapted"),
 ("bold-correction", "Run `pip install requests` first. **Correction:** the package is already in the standard library of this image.", T, "Run `pip install requests` first.", "The package is already in the standard library of this image.", "correction-label", "issue10", "adapted"),
 ("misspoke", "Sorry, I misspoke: the method is `append`, not `add`.", F, None, None, "other", "profile", "adapted"),
 ("sorry-misspoke-after", "Lists in Python have an `add` method. Sorry, I misspoke: the method is `append`.", T, "Lists in Python have an `add` method.", "The method is `append`.", "sorry-correction", "profile", "adapted"),
 ("my-mistake", "Tokyo has a population of about 14 million. My mistake, the greater Tokyo area has about 37 million people.", T, "Tokyo has a population of about 14 million.", "The greater Tokyo area has about 37 million people.", "my-mistake", "issue10", "adapted"),
 ("made-a-mistake", "Multiply both sides by 3. I made a mistake there: we should divide both sides by 3.", T, "Multiply both sides by 3.", "We should divide both sides by 3.", "made-a-mistake", "issue10", "adapted"),
 ("thats-not-right", "The square root of 144 is 14. That's not right; the square root of 144 is 12.", T, "The square root of 144 is 14.", "The square root of 144 is 12.", "thats-wrong", "issue10", "adapted"),
 ("hmm-not-right", "There are two r's in raspberry. Hmm, that's not right, there are three.", T, "There are two r's in raspberry.", "There are three.", "hmm-correction", "xeiaso", "adapted"),
 ("let-me-rephrase", "The cache is always faster. Let me rephrase: the cache is faster when the data fits in memory.", T, "The cache is always faster.", "The cache is faster when the data fits in memory.", "rephrase", "issue10", "adapted"),
 ("reconsider", "You should use a thread pool here. Let me reconsider, since the work is CPU-bound a process pool is the better choice.", T, "You should use a thread pool here.", "Since the work is CPU-bound a process pool is the better choice.", "reconsider", "profile", "adapted"),
 ("i-mean-tuesday", "The release is on Monday. I mean Tuesday, after the freeze.", T, "The release is on Monday.", "~~The release is on Monday.~~ I mean Tuesday, after the freeze.", "i-mean-correction", "tebbs", "adapted"),
 ("i-mean-comma-left", "Turn left at the church. I mean, turn right at the church.", T, "Turn left at the church.", "Turn right at the church.", "i-mean-correction", "tebbs", "adapted"),
 ("actually-lowercase", "the answer is 7. actually, the answer is 8.", T, "the answer is 7.", "The answer is 8.", "actually-correction", "profile", "adapted"),
 ("wait-mid-answer", "First, preheat the oven to 180 °C. Bake the bread for 20 minutes. Wait, it needs 35 minutes at this temperature. Let it cool before slicing.", T, "Bake the bread for 20 minutes.", "First, preheat the oven to 180 °C. It needs 35 minutes at this temperature. Let it cool before slicing.", "wait-correction", "profile", "adapted"),
 ("list-item-correction", "Steps:\n- Install the package.\n- Run `make` twice. Actually, run `make` once; the second run is not needed.", T, "Run `make` twice.", "Steps:\n- Install the package.\n- Run `make` once; the second run is not needed.", "actually-correction", "profile", "adapted"),
 ("oops-exclaim", "The capital of Canada is Toronto. Oops! The capital of Canada is Ottawa.", T, "The capital of Canada is Toronto.", "The capital of Canada is Ottawa.", "oops", "issue10", "adapted"),
 ("whoops", "Set `DEBUG = True` in production. Whoops, that should be `DEBUG = False` in production.", T, "Set `DEBUG = True` in production.", "That should be `DEBUG = False` in production.", "oops", "issue10", "adapted"),
 ("stand-corrected", "Rust has no package manager. I stand corrected, Cargo is Rust's package manager.", T, "Rust has no package manager.", "Cargo is Rust's package manager.", "i-was-wrong", "issue10", "adapted"),
 ("was-mistaken", "HTTP/2 requires TLS by the spec. I was mistaken, the spec allows cleartext HTTP/2, though browsers only use it over TLS.", T, "HTTP/2 requires TLS by the spec.", "The spec allows cleartext HTTP/2, though browsers only use it over TLS.", "i-was-wrong", "issue10", "adapted"),
 ("thats-incorrect", "The Great Wall is visible from the Moon. That is incorrect: it cannot be seen from the Moon with the naked eye.", T, "The Great Wall is visible from the Moon.", "It cannot be seen from the Moon with the naked eye.", "thats-wrong", "issue10", "adapted"),
 ("wait-budget", "The answer is 12. Wait, 5 + 8 is 13, so the answer is 13.", T, "The answer is 12.", "5 + 8 is 13, so the answer is 13.", "wait-correction", "s1", "adapted"),
 ("hold-on", "The bug is in the parser. Hold on, the parser is fine; the bug is in the lexer.", T, "The bug is in the parser.", "The parser is fine; the bug is in the lexer.", "wait-correction", "issue10", "adapted"),
 ("apologies-i", "The event starts at 10 a.m. Apologies, I got the time wrong: it starts at 11 a.m.", T, "The event starts at 10 a.m.", "It starts at 11 a.m.", "apology-correction", "issue10", "adapted"),
 ("actually-made-error", "The sum of the angles is 360 degrees. Actually, I made an error: a triangle's angles sum to 180 degrees.", T, "The sum of the angles is 360 degrees.", "A triangle's angles sum to 180 degrees.", "actually-correction", "issue10", "adapted"),
 ("meant-to-say", "Use `git push --force` to fix this. I meant to say `git push --force-with-lease`, which is safer.", T, "Use `git push --force` to fix this.", "~~Use `git push --force` to fix this.~~ I meant to say `git push --force-with-lease`, which is safer.", "i-mean-correction", "issue10", "adapted"),
 ("er-i-mean", "It was written in 1984. Er, I mean 1948, the year in the title reverses it.", T, "It was written in 1984.", "~~It was written in 1984.~~ Er, I mean 1948, the year in the title reverses it.", "i-mean-correction", "tebbs", "adapted"),
 ("correction-hyphen", "The file must be named config.yml. Correction - it must be named config.yaml.", T, "The file must be named config.yml.", "It must be named config.yaml.", "correction-label", "issue10", "adapted"),
 ("correction-en-dash", "Water boils at 90 °C at sea level. Correction – it boils at 100 °C.", T, "Water boils at 90 °C at sea level.", "It boils at 100 °C.", "correction-label", "issue10", "adapted"),
 ("wait-thats-wrong", "So x = 4. Wait, that's wrong, x = -4 because the sign flips.", T, "So x = 4.", "x = -4 because the sign flips.", "wait-correction", "agentbeck", "adapted"),
 ("no-comma-wait", "The sky looks blue because of reflection from the ocean. No, wait, it is blue because air scatters short wavelengths more.", T, "The sky looks blue because of reflection from the ocean.", "It is blue because air scatters short wavelengths more.", "no-wait", "issue10", "adapted"),
 ("wait-no-dash", "Paris is the capital of Italy. Wait—no, Rome is the capital of Italy.", T, "Paris is the capital of Italy.", "Rome is the capital of Italy.", "wait-correction", "issue10", "adapted"),
 ("got-that-wrong", "Node 18 is the current LTS. I got that wrong: Node 22 is the current LTS.", T, "Node 18 is the current LTS.", "Node 22 is the current LTS.", "i-was-wrong", "issue10", "adapted"),
 ("that-was-wrong", "You need admin rights for this. That was wrong, any user can run it.", T, "You need admin rights for this.", "Any user can run it.", "thats-wrong", "issue10", "adapted"),
 ("my-bad", "The keyboard shortcut is Cmd+Shift+P on Windows. My bad, on Windows it is Ctrl+Shift+P.", T, "The keyboard shortcut is Cmd+Shift+P on Windows.", "On Windows it is Ctrl+Shift+P.", "my-mistake", "issue10", "adapted"),
 ("actually-value", "The meeting room is on the third floor. Actually, it's on the fourth floor.", T, "The meeting room is on the third floor.", "It's on the fourth floor.", "actually-correction", "profile", "adapted"),
 ("actually-wrong-claim-profile", "This only applies in a handful of countries. Actually, the rule applies in every EU member state.", T, "This only applies in a handful of countries.", "The rule applies in every EU member state.", "actually-correction", "profile", "quoted"),
 ("wait-profile", "In practice nobody follows that rule. Wait, most teams do follow it, but enforce it loosely.", T, "In practice nobody follows that rule.", "Most teams do follow it, but enforce it loosely.", "wait-correction", "profile", "quoted"),
 ("correction-profile", "The answer is always the same, whatever the details. Correction: the answer depends on the jurisdiction.", T, "The answer is always the same, whatever the details.", "The answer depends on the jurisdiction.", "correction-label", "profile", "quoted"),
 ("sorry-misspoke-profile", "Most experts disagree with that entirely. Sorry, I misspoke: most experts agree with it.", T, "Most experts disagree with that entirely.", "Most experts agree with it.", "sorry-correction", "profile", "quoted"),
 ("sorry-wrong", "The Amazon is the longest river. Sorry, that's wrong: the Nile is usually listed as the longest.", T, "The Amazon is the longest river.", "The Nile is usually listed as the longest.", "sorry-correction", "issue10", "adapted"),
 ("hang-on", "You can delete the lock file safely. Hang on, only delete it when no install is running.", T, "You can delete the lock file safely.", "Only delete it when no install is running.", "wait-correction", "issue10", "adapted"),
 ("i-mean-swap-number", "The dosage is 5 mg twice a day. I mean, 2.5 mg twice a day for children.", T, "The dosage is 5 mg twice a day.", "~~The dosage is 5 mg twice a day.~~ I mean, 2.5 mg twice a day for children.", "i-mean-correction", "tebbs", "adapted"),
 ("let-me-correct-that", "The Battle of Hastings was in 1067. Let me correct that: it was in 1066.", T, "The Battle of Hastings was in 1067.", "It was in 1066.", "correct-myself", "dubiel", "adapted"),
 ("to-correct-myself", "Chrome uses the Gecko engine. To correct myself, Chrome uses Blink and Firefox uses Gecko.", T, "Chrome uses the Gecko engine.", "Chrome uses Blink and Firefox uses Gecko.", "correct-myself", "issue10", "adapted"),
 ("strike-that", "Install it globally with `npm i -g`. Strike that, install it as a dev dependency.", T, "Install it globally with `npm i -g`.", "Install it as a dev dependency.", "scratch-that", "issue10", "adapted"),
 ("heading-context", "## Summary\nThe study had 40 participants. Actually, it had 48 participants after the second round.", T, "The study had 40 participants.", "## Summary\nIt had 48 participants after the second round.", "actually-correction", "profile", "adapted"),
 ("two-corrections", "The port is 5432. Actually, it is 5433 on this server. Run `psql -p 5433` to connect.", T, "The port is 5432.", "It is 5433 on this server. Run `psql -p 5433` to connect.", "actually-correction", "profile", "adapted"),
 ("i-apologize-error", "The Treaty was signed in 1918. I apologize for the error; it was signed in 1919.", T, "The Treaty was signed in 1918.", "It was signed in 1919.", "apology-correction", "cc3382", "adapted"),
 ("i-apologize-mistake-prev", "Berlin has been the capital since 1949. I apologize for my mistake: Bonn was the capital of West Germany until 1990.", T, "Berlin has been the capital since 1949.", "Bonn was the capital of West Germany until 1990.", "apology-correction", "cc3382", "adapted"),
 ("wait-sorry", "Here 7 is not prime. Wait, sorry, 7 is prime; 9 is the one that is not.", T, "Here 7 is not prime.", "7 is prime; 9 is the one that is not.", "wait-correction", "issue10", "adapted"),
 ("actually-capital-sentence", "React was created by Google. Actually, React was created at Facebook.", T, "React was created by Google.", "React was created at Facebook.", "actually-correction", "profile", "adapted"),
 ("that-isnt-right", "So the probability is 1/2. That isn't right, because the two events overlap, the probability is 3/4.", T, "So the probability is 1/2.", "Because the two events overlap, the probability is 3/4.", "thats-wrong", "xeiaso", "adapted"),
 ("incorrect-previous", "The speed of sound is about 3,000 m/s in air. That's incorrect; it is about 343 m/s in air.", T, "The speed of sound is about 3,000 m/s in air.", "It is about 343 m/s in air.", "thats-wrong", "issue10", "adapted"),
 ("oops-lowercase", "the default branch is master. oops, it's main in new repositories.", T, "the default branch is master.", "It's main in new repositories.", "oops", "issue10", "adapted"),
 ("actually-in-paragraph", "JSON allows trailing commas. Actually, it does not; JSON5 allows them.\n\nFor config files, prefer TOML.", T, "JSON allows trailing commas.", "It does not; JSON5 allows them.\n\nFor config files, prefer TOML.", "actually-correction", "profile", "adapted"),
 ("sorry-i-mean", "Open the Settings tab. Sorry, I mean the Preferences tab.", T, "Open the Settings tab.", "~~Open the Settings tab.~~ Sorry, I mean the Preferences tab.", "sorry-correction", "issue10", "adapted"),
 ("no-swap", "The plane lands at 2pm. No, it lands at 3pm.", T, "The plane lands at 2pm.", "It lands at 3pm.", "no-correction", "tebbs", "adapted"),
 ("correction-lower", "Kotlin compiles only to the JVM. correction: it also compiles to JavaScript and native code.", T, "Kotlin compiles only to the JVM.", "It also compiles to JavaScript and native code.", "correction-label", "issue10", "adapted"),
 ("on-reflection", "A linked list is best here. On second thought, an array is faster because the size is fixed.", T, "A linked list is best here.", "An array is faster because the size is fixed.", "second-thought", "issue10", "adapted"),
 # ---- look-alikes that retract nothing ----
 ("s1-confirm-long", "5 + 7 = 12. The answer is 12. Wait, let me double-check: 5 + 7 is 12. Yes, 12 is correct.", F, None, None, "confirmation", "s1", "adapted"),
 ("verify-correct", "The derivative of x² is 2x. Let me verify: the power rule gives 2x¹, which is 2x.", F, None, None, "confirmation", "cc3382", "adapted"),
 ("wait-let-me-check", "There are three r's in strawberry. Wait, let me count again: s-t-r-a-w-b-e-r-r-y, that is three.", F, None, None, "confirmation", "xeiaso", "adapted"),
 ("wait-break-down", "Hmm, I need to make sure I spell the word correctly first. Raspberry. Wait, let me break it down letter by letter.", F, None, None, "confirmation", "xeiaso", "quoted"),
 ("yes-correct", "Yes, that's correct. The function is pure, so caching its result is safe.", F, None, None, "confirmation", "cc3382", "adapted"),
 ("actually-yes", "Can it run offline? Actually, yes: the model runs entirely on the device.", F, None, None, "confirmation", "issue10", "adapted"),
 ("actually-right", "You said the list is sorted. Actually, that's right, `sorted()` returns a new sorted list.", F, None, None, "confirmation", "issue10", "adapted"),
 ("double-checked", "I double-checked the numbers. The total is $1,250.", F, None, None, "confirmation", "issue10", "adapted"),
 ("refusal-opencode", "I'm sorry, but I can't help with that request.", F, None, None, "refusal", "opencode", "quoted"),
 ("refusal-aicli", "Sorry, I can't answer that.", F, None, None, "refusal", "aicli", "adapted"),
 ("refusal-after-claim", "That document is confidential. Sorry, I can't share its contents.", F, None, None, "refusal", "issue10", "adapted"),
 ("refusal-realtime", "I don't have live data. Sorry, I can't check today's exchange rate.", F, None, None, "refusal", "issue10", "adapted"),
 ("refusal-medical", "That sounds painful. I apologize, but I can't give medical advice; please see a doctor.", F, None, None, "refusal", "gpt4all", "adapted"),
 ("refusal-shorty", "Sorry, I won't be able to help you with that one.", F, None, None, "refusal", "shorty", "quoted"),
 ("sorry-json-comments", "I'm sorry, but JSON doesn't support comments.", F, None, None, "refusal", "rumba", "quoted"),
 ("sorry-json-after", "Good catch on the parse error. I'm sorry, but JSON doesn't support comments, so the `//` line breaks it.", F, None, None, "refusal", "rumba", "adapted"),
 ("sorry-no-response", "Sorry, no response was returned.", F, None, None, "refusal", "vscode", "quoted"),
 ("apology-inconvenience", "Your order was delayed by the storm. I apologize for the inconvenience. It will ship tomorrow.", F, None, None, "apology", "everipedia", "adapted"),
 ("apology-delay", "Thanks for waiting. I apologize for the delay in getting back to you.", F, None, None, "apology", "everipedia", "adapted"),
 ("sorry-to-hear", "Your laptop will not boot. Sorry to hear that; let's try safe mode first.", F, None, None, "apology", "gpt4all", "adapted"),
 ("sorry-loss", "I'm sorry for your loss. Here are some ways to take care of yourself this week.", F, None, None, "apology", "gpt4all", "adapted"),
 ("myth-goldfish", "Many people think goldfish have a three-second memory. Actually, goldfish can remember things for months.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-brain", "It's a common myth that we only use 10% of our brains. Actually, brain scans show activity almost everywhere.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-lightning", "You may have heard that lightning never strikes the same place twice. Actually, tall buildings are struck many times a year.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-sugar", "Parents often believe sugar makes children hyperactive. Actually, controlled studies found no such effect.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-wrong", "Some say cracking your knuckles causes arthritis. That's wrong: studies found no link.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-misconception", "A common misconception is that the tongue has taste zones. In fact, every region senses all tastes.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-you-might-think", "You might think a heavier ball falls faster. Actually, without air resistance both fall at the same rate.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("myth-great-wall", "Most people believe the Great Wall is visible from space. Actually, astronauts say it is very hard to see.", F, None, None, "myth-busting", "issue10", "adapted"),
 ("actually-emphasis", "That's a great question. Actually, it's one of the most common ones we get.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("actually-easier", "You can loop over the keys and copy each one. Actually, there's an easier way: `dict(other)` copies it in one call.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("actually-mid-sentence", "Python is actually quite fast for this kind of I/O-bound work.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("actually-even-better", "The new version is faster. Actually, it's even better: memory use dropped by half too.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("actually-start", "Actually, the simplest fix is to pin the version in requirements.txt.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("sure-actually", "Sure! Actually, this is easier with a list comprehension.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("i-mean-intensifier", "The new stadium is huge. I mean, really huge.", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("i-mean-it", "You did a great job on this refactor. I mean it.", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("i-mean-who", "Everyone loves a good pizza. I mean, who doesn't?", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("i-mean-seriously", "That bug took three days to find. I mean, seriously, three days.", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("i-mean-literally", "The build is fast now. I mean, literally seconds.", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("wait-instruction", "Start the migration. Wait for it to finish before you restart the server.", F, None, None, "instruction", "issue10", "adapted"),
 ("wait-seconds", "If the request fails, wait 30 seconds and try again.", F, None, None, "instruction", "issue10", "adapted"),
 ("wait-until", "Plug in the device. Wait until the LED turns green, then press the reset button.", F, None, None, "instruction", "issue10", "adapted"),
 ("wait-a-few", "Save the file. Wait a few minutes for the sync to complete.", F, None, None, "instruction", "issue10", "adapted"),
 ("await-code", "Call the function with `await`. Wait, in this context, means the coroutine pauses until the result is ready.", F, None, None, "instruction", "issue10", "adapted"),
 ("hold-instruction", "Press the power button. Hold on to it for ten seconds to force a restart.", F, None, None, "instruction", "issue10", "adapted"),
 ("quoted-wait-anna", "The door creaked open. \"Wait,\" Anna whispered, \"someone is inside.\"", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("quoted-actually", "He paused at the door. \"Actually, I think I'll stay,\" he said.", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("quoted-curly", "She smiled at the offer. “Sorry, I meant to call you earlier,” she said.", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("quoted-wrong", "The detective read the note aloud. \"I was wrong about him,\" it said.", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("quoted-single", "The sign on the door said 'Wait, staff only beyond this point'.", F, None, None, "quoted-speech", "issue10", "adapted"),
 ("narrative-wait-question", "She reached the car. Wait, had she locked the front door?", F, None, None, "narrative", "blackseed", "adapted"),
 ("narrative-what", "The test passed on the first try. Wait - what? That never happens.", F, None, None, "narrative", "blackseed", "adapted"),
 ("blackseed-quote", "Self-feedback (bad): \"Your answer is correct. Good job.\" Wait - what? That's wrong.", F, None, None, "narrative", "blackseed", "quoted"),
 ("narrative-story", "The knight rode for three days. On the fourth day he reached the castle.", F, None, None, "narrative", "issue10", "adapted"),
 ("tutor-corrections", "Original Input: \"my stomach pain i take 3 days leave give sir.\"\nCorrections: \"I have stomach pain, so I took 3 days of leave, sir.\"", F, None, None, "user-text-correction", "grammar", "quoted"),
 ("tutor-incorrect", "Incorrect: Their going to the park.\nCorrection: They're going to the park.", F, None, None, "user-text-correction", "tutor", "adapted"),
 ("tutor-you-wrote", "You wrote \"I has a cat.\" Correction: \"I have a cat.\"", F, None, None, "user-text-correction", "tutor", "adapted"),
 ("tutor-arrow", "Here is your text with the fixes. Original → Corrected: \"recieve\" → \"receive\".", F, None, None, "user-text-correction", "grammar2", "adapted"),
 ("tutor-your-sentence", "Your sentence is almost right. Correction: use \"fewer\" with countable nouns.", F, None, None, "user-text-correction", "tutor", "adapted"),
 ("tutor-list", "Original: \"Me and him went.\"\nCorrection: \"He and I went.\"\nExplanation: use the subject form.", F, None, None, "user-text-correction", "tutor", "adapted"),
 ("noun-correction", "The newspaper printed a correction on page two.", F, None, None, "correction-noun", "issue10", "adapted"),
 ("noun-correction-factor", "Apply the temperature correction. Correction factors are listed in Table 3.", F, None, None, "correction-noun", "issue10", "adapted"),
 ("noun-correction-fluid", "Use a pen. Correction fluid can smudge the ink.", F, None, None, "correction-noun", "issue10", "adapted"),
 ("noun-course-correction", "The probe fired its engine for two seconds. Course corrections like this are routine.", F, None, None, "correction-noun", "issue10", "adapted"),
 ("code-fence-actually", "Here is the fix:\n```python\ntotal = 0  # Actually, start from one.\n# Wait, this must be reset.\n```\nThat resets the counter.", F, None, None, "code", "issue10", "adapted"),
 ("code-fence-correction", "Add this to the config:\n```yaml\nmode: fast\n```\nCorrection: is a reserved key there, so avoid it.", F, None, None, "code", "issue10", "adapted"),
 ("inline-code-wait", "Call `sleep(1)` here. `Wait,` in the log means the worker is idle.", F, None, None, "code", "issue10", "adapted"),
 ("inline-code-actually", "The helper is named `retry()`. `Actually,` is just the string the test prints.", F, None, None, "code", "issue10", "adapted"),
 ("no-answer", "Is Sydney the capital of Australia? No, the capital is Canberra.", F, None, None, "other", "issue10", "adapted"),
 ("no-question-answer", "Can I delete the folder? No, it holds the cache index.", F, None, None, "other", "issue10", "adapted"),
 ("no-really", "You can use either library. No, really, both work fine here.", F, None, None, "other", "issue10", "adapted"),
 ("hmm-thinking", "That's an interesting problem. Hmm, let's start with the base case.", F, None, None, "other", "xeiaso", "adapted"),
 ("wait-theres-more", "The plan includes free shipping. Wait, there's more: returns are free for 60 days too.", F, None, None, "other", "issue10", "adapted"),
 ("phrase-mention", "The phrase \"on second thought\" signals that a speaker is changing their mind.", F, None, None, "other", "issue10", "adapted"),
 ("admit-wrong", "Admitting that you were wrong is hard for most people. It gets easier with practice.", F, None, None, "other", "cc27683", "adapted"),
 ("oops-error-page", "The browser shows a message. Oops is the word many sites use on their error pages.", F, None, None, "other", "issue10", "adapted"),
 ("i-was-wrong-mention", "If a review says \"I was wrong\", treat it as a retraction.", F, None, None, "other", "issue10", "adapted"),
 ("mistake-noun", "A common mistake is forgetting to close the file. Use a `with` block instead.", F, None, None, "other", "issue10", "adapted"),
 ("that-is-right", "So the answer is 42. That is right, because 6 × 7 is 42.", F, None, None, "confirmation", "s1", "adapted"),
 ("actually-works", "I tried your snippet. Actually, it works on Python 3.12 as well.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("wait-what-happened", "The deploy finished at noon. Wait, what happened to the logs after that?", F, None, None, "narrative", "issue10", "adapted"),
 ("actually-question", "Is the API rate-limited? Actually, it is, at 60 calls per minute.", F, None, None, "confirmation", "issue10", "adapted"),
 ("reasoning-wait", "<think>The sum is 11. Wait, 5 + 7 is 12, not 11.</think>The answer is 12.", F, None, None, "reasoning", "s1", "adapted"),
 ("reasoning-aha", "<think>Square both sides. Wait, wait. Wait. That's an aha moment I can flag here. Let's reevaluate this step by step.</think>The sum of the real solutions is (sqrt(4a - 3) - 1) / 2.", F, None, None, "reasoning", "r1", "adapted"),
 ("reasoning-actually", "<think>Paris is in Italy. Actually, Paris is in France.</think>Paris is the capital of France.", F, None, None, "reasoning", "aha", "adapted"),
 ("reasoning-then-answer-correction", "<think>Check the units first.</think>The answer is 12 m. Actually, it is 12 cm, since the input was in centimetres.", T, "The answer is 12 m.", "It is 12 cm, since the input was in centimetres.", "actually-correction", "illusion", "adapted"),
 ("reasoning-recount", "<think>Let me count: r, then two more r's. Wait, let me break it down letter by letter.</think>There are three r's in raspberry.", F, None, None, "reasoning", "xeiaso", "adapted"),
 ("gpt4all-disagree", "Admiral Doenitz was on board and was killed. Actually, that is a fact: the records confirm it.", F, None, None, "confirmation", "gpt4allchat", "adapted"),
 ("sorry-dont-know", "I looked through the docs. Sorry, I don't know which version added that flag.", F, None, None, "refusal", "aicli", "adapted"),
 ("apology-unable", "I apologize, but I am unable to browse the internet.", F, None, None, "refusal", "gpt4all", "adapted"),
 ("i-mean-elaboration-question", "It's a tricky trade-off. I mean, how often do you really need the extra speed?", F, None, None, "i-mean-intensifier", "issue10", "adapted"),
 ("actually-another", "That fixes the first error. Actually, there's another problem on line 12.", F, None, None, "actually-emphasis", "issue10", "adapted"),
 ("correction-label-tutor-second", "Sentence 1 is fine.\nOriginal: The datas are ready.\nCorrection: The data are ready.", F, None, None, "user-text-correction", "tutor", "adapted"),
 ("wait-imperative-comma", "Open the terminal. Wait, then type `ls` once the prompt appears.", F, None, None, "instruction", "issue10", "adapted"),
 ("no-wait-time", "The store has no wait time on weekdays.", F, None, None, "other", "issue10", "adapted"),
 ("scratch-literal", "The paint is soft for a day. Scratch tests should wait until it cures.", F, None, None, "other", "issue10", "adapted"),
 ("oops-story", "The toddler dropped the cup. Oops, said his sister, laughing.", F, None, None, "narrative", "issue10", "adapted"),
 ("my-mistake-user", "You said the meeting was at noon. My mistake, I had written it down as one.", F, None, None, "other", "issue10", "adapted"),
]

def split_of(case_id: str) -> str:
    # decided up front, never tuned: the first hex digit of sha256(id)
    return "tuning" if int(hashlib.sha256(case_id.encode()).hexdigest()[0], 16) < 8 else "heldout"

def main() -> None:
    ids = set()
    out = []
    for cid, text, label, retracted, expected, cat, src, prov in CASES:
        assert cid not in ids, cid
        ids.add(cid)
        if not label:
            visible = text
            if "<think>" in text:
                visible = text.split("</think>", 1)[1]
            expected = visible
        else:
            assert retracted and retracted in text, cid
        out.append({"id": cid, "text": text, "label": label, "retracted": retracted, "expected": expected,
                    "category": cat, "split": split_of(cid), "source": SRC[src], "provenance": prov})
    with open(sys.argv[1], "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in out)
    if len(sys.argv) > 2:  # the playground's `corrections` profile draws from these
        with open(sys.argv[2], "w", encoding="utf-8") as fh:
            for row in out:
                if "<think>" in row["text"] or "\n" in row["text"] or "```" in row["text"]:
                    continue
                fh.write(json.dumps({k: row[k] for k in ("id", "text", "label", "retracted", "source")}, ensure_ascii=False) + "\n")
    n = len(out)
    t = sum(r["label"] for r in out)
    print(n, "cases", t, "true", n - t, "look-alikes",
          sum(r["split"] == "heldout" for r in out), "heldout")

main()
