#!/usr/bin/env python3
"""Generate ``src/notus/data/samples/ultrafeedback_mini.jsonl``.

A small dataset in the *raw* openbmb/UltraFeedback row schema, for tests, docs
and smoke runs.  Every prompt, completion, note and rationale below was written
by hand by the notus developers; nothing is copied from UltraFeedback or any
other public dataset.  Only the layout of a row follows the UltraFeedback
schema.

The generator is deterministic (stdlib only, ``random.Random(0)``)::

    python scripts/make_uf_sample.py            # (re)writes the file
    python scripts/make_uf_sample.py --check    # regenerate in memory, compare

Each prompt carries four completions, each written to a quality tier:

* ``A``  a genuinely good answer
* ``B``  a mediocre answer (correct but thin, vague or slightly off)
* ``C``  a wrong / hallucinated answer
* ``D``  an off-topic or too-terse answer
* ``T``  "all fine" answers, used for rows where every completion ties

The aspect ratings come from per-tier rating profiles (or an explicit profile
written next to the completion), so they match the text.  The generator then
shuffles the completions, assigns model names and principles, and derives the
``overall_score`` so that, in about half of the rows, the completion with the
best ``overall_score`` is *not* the one with the best mean aspect rating, as in
the real dataset (including the "critique rating 1 recorded as 10.0" bug).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_PATH = ROOT / "src" / "notus" / "data" / "samples" / "ultrafeedback_mini.jsonl"

NA = "N/A"
ASPECTS = ("instruction_following", "honesty", "truthfulness", "helpfulness")


# --------------------------------------------------------------------------- #
# completion helpers: tier, text, note (what is wrong / thin), overrides
# --------------------------------------------------------------------------- #
def A(text):
    return {"tier": "A", "text": text, "note": None, "prof": None, "tt": None}


def B(text, note="is correct but brief", prof=None):
    return {"tier": "B", "text": text, "note": note, "prof": prof, "tt": None}


def C(text, note, tt=None, prof=None):
    return {"tier": "C", "text": text, "note": note, "prof": prof, "tt": tt}


def D(text, note="does not address the question", prof=None):
    return {"tier": "D", "text": text, "note": note, "prof": prof, "tt": None}


def T(text):
    return {"tier": "T", "text": text, "note": None, "prof": None, "tt": None}


def P(source, instruction, completions, correct=(), incorrect=(), flags=()):
    assert len(completions) == 4
    return {
        "source": source,
        "instruction": instruction,
        "completions": completions,
        "correct": list(correct),
        "incorrect": list(incorrect),
        "flags": set(flags),
    }


# flags: "na_h"   honesty is N/A for every completion (creative / opinion task)
#        "tie"    the two A completions are equally good -> identical profile
#        "alltie" every completion is fine -> profiles with the same mean
PROMPTS = [
    P(
        "evol_instruct",
        "Write a Python function that returns True if a string is a palindrome, ignoring case and spaces.",
        [
            A(
                "```python\ndef is_palindrome(s):\n    t = s.replace(' ', '').lower()\n    return t == t[::-1]\n```\n"
                "It removes spaces, lowercases the text and compares it with its reverse, so "
                "`is_palindrome('Never odd or even')` returns True."
            ),
            B(
                "```python\ndef is_palindrome(s):\n    return s == s[::-1]\n```\nThis checks whether the string reads the same backwards.",
                "ignores the case and space requirements",
                prof=(3, 4, 4, 3),
            ),
            C(
                "```python\ndef is_palindrome(s):\n    return s.lower() == sorted(s.lower())\n```\n"
                "Sorting the characters tells you whether the word is symmetric.",
                "compares a string with a sorted list, which is always False and is not a palindrome test",
            ),
            D("Palindromes are fun words like 'level' and 'radar'.", "gives examples but no code"),
        ],
    ),
    P(
        "flan_v2_cot",
        "A baker makes 48 muffins and sells them in boxes of 6. She keeps 2 boxes for herself. "
        "How many boxes does she sell? Explain step by step.",
        [
            A("48 ÷ 6 = 8 boxes in total. She keeps 2 of them, so she sells 8 − 2 = 6 boxes. Answer: 6."),
            B("She sells 6 boxes.", "gives the right answer without the requested steps"),
            C(
                "48 − 2 = 46 muffins, and 46 ÷ 6 ≈ 7.7, so she sells about 8 boxes.",
                "subtracts 2 muffins instead of 2 boxes and reaches 8 instead of 6",
                tt=["1", "2"],
            ),
            D("Muffins are best sold fresh in the morning."),
        ],
        correct=["6"],
        incorrect=["8"],
    ),
    P(
        "truthful_qa",
        "What is the capital of Australia?",
        [
            A(
                "The capital of Australia is Canberra. Sydney and Melbourne are larger, but Canberra was chosen as a "
                "compromise between them and has been the seat of Parliament since 1927."
            ),
            B(
                "Canberra, I believe.",
                "is correct but hedges needlessly and gives no context",
                prof=(4, 3, 5, 3),
            ),
            C(
                "The capital of Australia is Sydney, its largest city.",
                "names Sydney, but the capital is Canberra",
            ),
            D("Australia is known for kangaroos and the Great Barrier Reef."),
        ],
        correct=["Canberra"],
        incorrect=["Sydney", "Melbourne"],
    ),
    P(
        "false_qa",
        "In what year did Albert Einstein receive the Nobel Prize for his theory of relativity?",
        [
            A(
                "Einstein never received a Nobel Prize for relativity. He was awarded the 1921 Nobel Prize in Physics, "
                "mainly for his explanation of the photoelectric effect."
            ),
            B(
                "He got the Nobel Prize in 1921, though the award is usually linked to his other work rather than relativity.",
                "gets the year right but does not clearly reject the false premise",
            ),
            C(
                "Einstein received the Nobel Prize for relativity in 1915, the year he completed general relativity.",
                "accepts the false premise and gives a wrong year",
            ),
            D("Einstein was a German-born physicist."),
        ],
        correct=["He did not; his 1921 Nobel Prize was for the photoelectric effect"],
        incorrect=["1915", "1905"],
    ),
    P(
        "ultrachat",
        "Give three practical tips for preparing for a job interview.",
        [
            A(
                "1. Research the company: its products, recent news and what the role requires.\n"
                "2. Practise answers to common questions out loud, with concrete examples from your experience.\n"
                "3. Prepare two or three thoughtful questions for the interviewer, and plan your route so you arrive early."
            ),
            B(
                "Research the company and dress well. Being confident also helps.",
                "gives short, generic tips",
            ),
            C(
                "Memorise your answers word for word and never ask questions, since interviewers dislike being questioned.",
                "gives counterproductive advice presented as fact",
            ),
            D("Interviews can be stressful."),
        ],
    ),
    P(
        "evol_instruct",
        "Write a haiku about a rainy morning in the city.",
        [
            A("Umbrellas blooming\npast grey towers and buses —\nthe street smells of rain."),
            A("Wet neon flickers,\ncommuters skip past puddles,\ncoffee steam rises."),
            C(
                "Rain falls on the city every morning and people go to work with umbrellas while cars drive by.",
                "is a prose sentence, not a 5-7-5 haiku",
                prof=(2, NA, 4, 2),
            ),
            D("Rain.", "is a single word, not a haiku", prof=(1, NA, 3, 1)),
        ],
        flags=["na_h", "tie"],
    ),
    P(
        "flan_v2_niv2",
        "Summarise in one sentence: 'The town council voted on Tuesday to close the old library on Main Street next "
        "spring. A new library with a larger children's section and longer opening hours will open in the former post "
        "office building.'",
        [
            A(
                "The council will replace the Main Street library next spring with a new one in the former post office, "
                "offering a bigger children's section and longer hours."
            ),
            B("The old library is closing and a new one is opening.", "omits where and when"),
            C(
                "The council voted to close the post office and turn Main Street into a park.",
                "invents a park and confuses the two buildings",
                tt=["2"],
            ),
            D(
                "Libraries are important for communities because they give everyone free access to books, computers and "
                "quiet study spaces.",
                "does not summarise the passage",
            ),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Classify the sentiment of this review as Positive or Negative: 'The battery died after two days and support "
        "never answered my emails.'",
        [
            A("Negative"),
            A("Negative — the reviewer complains about battery life and unresponsive support."),
            C("Positive", "gives the wrong label", tt=["2"]),
            D("This review is about a product.", "does not give a label"),
        ],
        correct=["Negative"],
        incorrect=["Positive"],
        flags=["tie"],
    ),
    P(
        "sharegpt",
        "Explain what a SQL LEFT JOIN does, in two or three sentences.",
        [
            A(
                "A LEFT JOIN returns every row from the left table together with the matching rows from the right table. "
                "When a left row has no match, the right table's columns are filled with NULL. It is useful when you want "
                "to keep all records of the first table, such as all customers including those without orders."
            ),
            B(
                "A LEFT JOIN combines two tables and keeps the rows from the left one.",
                "is correct but vague about unmatched rows",
            ),
            C(
                "A LEFT JOIN returns only the rows that appear in both tables and drops the rest.",
                "describes an INNER JOIN, not a LEFT JOIN",
            ),
            D("SQL stands for Structured Query Language."),
        ],
    ),
    P(
        "flan_v2_cot",
        "A train travels 180 km in 2 hours and then 120 km in 1.5 hours. What is its average speed for the whole trip?",
        [
            A(
                "Total distance = 180 + 120 = 300 km. Total time = 2 + 1.5 = 3.5 h. "
                "Average speed = 300 ÷ 3.5 ≈ 85.7 km/h."
            ),
            B("About 86 km/h.", "gives a rounded answer with no working"),
            C(
                "The first part is 90 km/h and the second is 80 km/h, so the average speed is (90 + 80) ÷ 2 = 85 km/h.",
                "averages the two speeds instead of dividing total distance by total time, giving 85 instead of about "
                "85.7 km/h",
                prof=(2, 2, 2, 2),
            ),
            D("Trains are usually faster than cars on long routes."),
        ],
        correct=["about 85.7 km/h"],
        incorrect=["85 km/h"],
    ),
    P(
        "ultrachat",
        "What are the main differences between a virus and a bacterium?",
        [
            A(
                "Bacteria are single-celled organisms that can reproduce on their own; viruses are much smaller particles "
                "that can only replicate inside a host cell. Many bacteria are harmless or even helpful, and bacterial "
                "infections can often be treated with antibiotics. Antibiotics do not work on viruses; viral infections are "
                "prevented with vaccines or treated with antivirals."
            ),
            B("Viruses are smaller than bacteria and both can make you sick.", "is accurate but thin"),
            C(
                "Viruses are a type of bacteria, and both are killed by antibiotics.",
                "claims viruses are bacteria and that antibiotics kill viruses",
            ),
            D("Wash your hands often to stay healthy."),
        ],
    ),
    P(
        "false_qa",
        "How many legs does a snake use to climb trees?",
        [
            A(
                "Snakes have no legs. They climb by gripping the bark with their belly scales, pushing against rough "
                "spots and often coiling around branches."
            ),
            B(
                "Snakes don't really use legs.",
                "corrects the premise but explains nothing",
                prof=(4, 4, 5, 3),
            ),
            C("Most tree snakes use four small hind legs to grip the bark.", "invents legs"),
            D("Trees can be very tall."),
        ],
        correct=["None; snakes have no legs"],
        incorrect=["Four"],
    ),
    P(
        "evol_instruct",
        "Write a two-sentence opening for a mystery story set in a lighthouse.",
        [
            A(
                "The lamp at Greyhaven Lighthouse had turned every night for ninety years, until the night it stopped and "
                "the keeper's logbook ended mid-sentence. By morning, the only footprints in the wet sand led toward the "
                "sea, not away from it."
            ),
            B(
                "It was a dark and stormy night at the lighthouse. Something strange was about to happen.",
                "is clichéd and creates little suspense",
                prof=(4, NA, 5, 3),
            ),
            C(
                "The lighthouse keeper found a body. The detective arrived. He solved the case. The end.",
                "ignores the two-sentence limit and resolves the mystery instead of opening it",
                prof=(2, NA, 3, 2),
            ),
            D(
                "Lighthouses guide ships using a rotating lamp and a lens. Many are now automated.",
                "writes facts instead of a story opening",
                prof=(1, NA, 4, 1),
            ),
        ],
        flags=["na_h"],
    ),
    P(
        "sharegpt",
        "What does the HTTP status code 404 mean?",
        [
            A(
                "404 Not Found means the server was reached but could not find the requested resource, for example because "
                "the URL is mistyped or the page was removed."
            ),
            A(
                "It means 'Not Found': the server is working, but nothing exists at the requested address. Check the URL or "
                "whether the page has moved."
            ),
            C("404 means the server crashed and is offline.", "confuses 404 with a server error (5xx)"),
            D("HTTP is used by web browsers."),
        ],
        flags=["tie"],
    ),
    P(
        "flan_v2_cot",
        "A shirt costs $40 and is discounted by 25%, then a further 10% is taken off the sale price. What is the final "
        "price?",
        [
            A("After 25% off: 40 × 0.75 = $30. Another 10% off: 30 × 0.90 = $27. Final price: $27."),
            B("The final price is $27.", "is correct but shows no working"),
            C(
                "25% + 10% = 35% off, so 40 × 0.65 = $26.",
                "adds the discounts instead of applying them one after the other",
            ),
            D("Shirts are often on sale at the end of the season."),
        ],
        correct=["$27"],
        incorrect=["$26"],
    ),
    P(
        "truthful_qa",
        "Do humans use only 10% of their brains?",
        [
            A(
                "No, that is a myth. Brain imaging shows that almost all regions are active over the course of a day, and "
                "damage to almost any area causes some loss of function."
            ),
            B("Not really, we use more than that.", "is correct but unsupported"),
            C(
                "Yes, scientists have shown that 90% of the brain stays inactive, which is why some people can unlock "
                "hidden abilities.",
                "repeats the 10% myth",
            ),
            D("The brain weighs about 1.4 kilograms."),
        ],
        correct=["No, virtually all of the brain is used"],
        incorrect=["Yes, only 10% is used"],
    ),
    P(
        "evol_instruct",
        "In JavaScript, what is the difference between `==` and `===`?",
        [
            A(
                "`===` is strict equality: it is true only if both values have the same type and value. `==` converts the "
                "operands to a common type first, so `0 == '0'` is true while `0 === '0'` is false. Prefer `===` to avoid "
                "surprising conversions."
            ),
            B("`===` is stricter than `==`, so it is usually better.", "is vague about type coercion"),
            C(
                "`==` compares values and `===` compares memory addresses, so `'a' === 'a'` is false.",
                "invents a memory-address rule and gives a false example",
            ),
            D("JavaScript was created in 1995."),
        ],
    ),
    P(
        "ultrachat",
        "How can I fall asleep faster at night?",
        [
            A(
                "Keep a regular bedtime and wake time, even at weekends. Avoid caffeine after early afternoon and heavy "
                "meals late at night. Dim screens and lights for the last hour, keep the bedroom cool and dark, and if you "
                "cannot sleep after about 20 minutes, get up and do something calm until you feel sleepy."
            ),
            B("Try not to use your phone in bed and drink some warm milk.", "gives only a couple of tips"),
            C(
                "Drink a strong coffee right before bed; the caffeine crash will knock you out.",
                "gives false and counterproductive advice",
            ),
            D("Sleep is important."),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Is the following statement a fact or an opinion? 'Water boils at 100 °C at sea level.'",
        [
            T("Fact."),
            T("It is a fact."),
            T("Fact — it can be checked by measurement."),
            T("This is a fact: at sea-level pressure, pure water boils at 100 °C."),
        ],
        correct=["Fact"],
        incorrect=["Opinion"],
        flags=["alltie"],
    ),
    P(
        "flan_v2_p3",
        "Read: 'Maria missed the bus, so she walked to school and arrived ten minutes late.' Question: Why was Maria "
        "late?",
        [
            A("Maria was late because she missed the bus and had to walk to school."),
            B("She walked.", "gives how she got there rather than the cause"),
            C(
                "Maria was late because she overslept.",
                "invents a reason that is not in the passage",
                tt=["2"],
            ),
            D("Buses are a common form of transport."),
        ],
        correct=["She missed the bus and had to walk"],
    ),
    P(
        "sharegpt",
        "Write a bash one-liner that counts the lines in all .txt files in the current directory.",
        [
            A(
                "`cat *.txt | wc -l`\nThis concatenates every .txt file and counts the total number of lines. Use "
                "`wc -l *.txt` instead if you want a count per file plus a total."
            ),
            B("`wc -l *.txt`", "is correct but unexplained", prof=(4, 4, 5, 3)),
            C("`ls *.txt | wc -l`", "counts the files, not the lines"),
            D("Bash is the default shell on many Linux systems."),
        ],
    ),
    P(
        "false_qa",
        "Why is the Great Wall of China visible from the Moon with the naked eye?",
        [
            A(
                "It isn't. The wall is only a few metres wide, far too narrow to see with the naked eye from the Moon, "
                "which is about 384,000 km away. Astronauts have confirmed they could not see it."
            ),
            B(
                "That is a common claim, but it is not really visible from that far.",
                "corrects the premise with little explanation",
            ),
            C(
                "Because it is over 20,000 km long and built of bright stone that reflects sunlight.",
                "accepts the myth",
            ),
            D("The Moon is Earth's only natural satellite."),
        ],
        correct=["It is not visible from the Moon with the naked eye"],
        incorrect=["Because it is very long"],
    ),
    P(
        "evol_instruct",
        "Write a short, friendly message declining an invitation to a colleague's birthday dinner.",
        [
            A(
                "Hi Sam, thank you so much for the invitation! Unfortunately I already have plans that evening, so I can't "
                "make it to dinner. I hope you have a wonderful birthday — let's grab a coffee next week to celebrate."
            ),
            A(
                "Hi Sam! Thanks for thinking of me. I'm sorry I can't join the dinner this time, but I hope you have a great "
                "evening with everyone. Happy birthday!"
            ),
            C("No, I won't come.", "is curt and unfriendly", prof=(2, NA, 4, 1)),
            D(
                "Birthday dinners are a nice tradition in many offices.",
                "does not write the message",
                prof=(1, NA, 4, 1),
            ),
        ],
        flags=["na_h", "tie"],
    ),
    P(
        "flan_v2_cot",
        "Tom is twice as old as his sister. In 5 years, the sum of their ages will be 31. How old is Tom now?",
        [
            A(
                "Let his sister's age be s, so Tom is 2s. In 5 years: (2s + 5) + (s + 5) = 31, so 3s = 21 and s = 7. "
                "Tom is 14."
            ),
            B("Tom is 14 and his sister is 7.", "is correct but skips the working"),
            C(
                "3s + 5 = 31, so s ≈ 8.7 and Tom is about 17.",
                "adds the 5 years only once and gets a non-integer age",
                tt=["1", "3"],
            ),
            D("Siblings often have age gaps of a few years."),
        ],
        correct=["14"],
        incorrect=["17"],
    ),
    P(
        "truthful_qa",
        "What happens if you swallow chewing gum?",
        [
            A(
                "It usually passes through your digestive system and leaves the body within a few days. The gum base is not "
                "digested, but it does not stay in your stomach for years. Swallowing large amounts often could cause a "
                "blockage, especially in children."
            ),
            B("It just passes through you.", "is correct but thin"),
            C("It stays in your stomach for seven years.", "repeats a popular myth"),
            D("I prefer mint gum."),
        ],
        correct=["It passes through the digestive system"],
        incorrect=["It stays in the stomach for seven years"],
    ),
    P(
        "ultrachat",
        "Explain compound interest to a teenager in under 80 words.",
        [
            A(
                "Compound interest means you earn interest on your interest. Put $100 in an account paying 10% a year: after "
                "one year you have $110. The next year you earn 10% of $110, giving $121, not $120. Over many years this "
                "snowball grows your money faster, which is why starting to save early helps so much."
            ),
            B(
                "It's when interest is added to your savings and then earns more interest over time.",
                "is correct but gives no example",
            ),
            C(
                "Compound interest is when the bank pays you the same fixed amount each year, no matter how much you have "
                "saved.",
                "describes simple interest",
            ),
            D("Banks are regulated by the government."),
        ],
    ),
    P(
        "evol_instruct",
        "What is the time complexity of binary search on a sorted array of n elements?",
        [
            A(
                "O(log n). Each comparison halves the remaining search range, so at most about log₂ n + 1 steps are needed."
            ),
            A(
                "Binary search runs in O(log n) time because every step discards half of the remaining elements."
            ),
            C(
                "O(n), because in the worst case it checks every element.",
                "confuses binary search with linear search",
            ),
            D("Arrays store elements in contiguous memory."),
        ],
        correct=["O(log n)"],
        incorrect=["O(n)"],
        flags=["tie"],
    ),
    P(
        "flan_v2_niv2",
        "Translate into French: 'The library opens at nine o'clock.'",
        [
            A("La bibliothèque ouvre à neuf heures."),
            B(
                "Bibliothèque ouvre neuf heures.",
                "drops the article and the preposition, so it is ungrammatical",
                prof=(3, 4, 3, 3),
            ),
            C(
                "La librairie ferme à neuf heures.",
                "translates 'library' as 'bookshop' and 'opens' as 'closes'",
                tt=["2"],
            ),
            D("French is spoken in many countries."),
        ],
        correct=["La bibliothèque ouvre à neuf heures."],
    ),
    P(
        "sharegpt",
        "I have a 15-minute presentation tomorrow and I'm nervous. Any quick advice?",
        [
            A(
                "Rehearse it out loud twice tonight, timing yourself, and learn your first two sentences by heart so the "
                "start feels automatic. Keep slides simple and use them as prompts, not a script. Tomorrow, arrive early to "
                "check the equipment, breathe slowly before you begin, and remember that the audience wants you to do well."
            ),
            B("Just practise and try to relax.", "is too generic to help much"),
            C(
                "Read every slide word for word and avoid looking at the audience; that is what experienced speakers do.",
                "gives counterproductive advice and a false claim about experienced speakers",
            ),
            D("Presentations are common in business."),
        ],
    ),
    P(
        "truthful_qa",
        "Which planet in our solar system is closest to the Sun?",
        [
            T("Mercury."),
            T("Mercury is the closest planet to the Sun."),
            T("The closest planet is Mercury."),
            T("It's Mercury, on average about 58 million km from the Sun."),
        ],
        correct=["Mercury"],
        incorrect=["Venus"],
        flags=["alltie"],
    ),
    P(
        "evol_instruct",
        "Suggest three names for a cosy neighbourhood coffee shop.",
        [
            A("1. The Snug Mug\n2. Ember & Oak\n3. The Corner Grind"),
            B("Coffee Place, Bean Shop, Cafe.", "offers bland, generic names", prof=(4, NA, 5, 3)),
            C("1. Starbucks\n2. Costa\n3. Dunkin'", "suggests existing chain brands", prof=(2, NA, 2, 1)),
            D("Coffee contains caffeine.", "does not suggest any names", prof=(1, NA, 5, 1)),
        ],
        flags=["na_h"],
    ),
    P(
        "flan_v2_cot",
        "A rectangle has a perimeter of 30 cm and a length of 9 cm. What is its area?",
        [
            A("Perimeter = 2(l + w), so 30 = 2(9 + w), giving w = 6 cm. Area = 9 × 6 = 54 cm²."),
            B("Width is 6, so area is 54.", "is correct but omits units and most of the working"),
            C(
                "Width = 30 − 9 = 21 cm, so the area is 9 × 21 = 189 cm².",
                "ignores that the perimeter counts each side twice",
            ),
            D("Rectangles have four right angles."),
        ],
        correct=["54 cm²"],
        incorrect=["189 cm²"],
    ),
    P(
        "ultrachat",
        "What are the health benefits of regular walking?",
        [
            A(
                "Regular brisk walking strengthens the heart and lowers blood pressure, helps control weight and blood sugar, "
                "strengthens bones and muscles, and improves mood and sleep. About 150 minutes a week of moderate activity, "
                "such as 30 minutes on five days, is a common recommendation for adults."
            ),
            B("Walking is good for your heart and can help you lose weight.", "is correct but brief"),
            C(
                "Walking 10 minutes a day cures diabetes and makes blood pressure medication unnecessary.",
                "makes exaggerated and unsafe medical claims",
            ),
            D("Good shoes are important."),
        ],
    ),
    P(
        "truthful_qa",
        "Who wrote the novel 'Pride and Prejudice'?",
        [
            A("Jane Austen wrote 'Pride and Prejudice', first published in 1813."),
            A("It was written by Jane Austen and published in 1813."),
            C("Charlotte Brontë wrote it in 1847.", "names the wrong author; 1847 is the year of Jane Eyre"),
            D("It is a famous English novel.", "does not name the author"),
        ],
        correct=["Jane Austen"],
        incorrect=["Charlotte Brontë"],
        flags=["tie"],
    ),
    P(
        "evol_instruct",
        "Write a Python list comprehension that produces the squares of the even numbers from 1 to 10.",
        [
            A("`[n * n for n in range(1, 11) if n % 2 == 0]` gives `[4, 16, 36, 64, 100]`."),
            B(
                "`[n**2 for n in range(10) if n % 2 == 0]`",
                "starts at 0 and stops before 10, giving [0, 4, 16, 36, 64]",
                prof=(3, 4, 3, 3),
            ),
            C(
                "`[n**2 for n in range(1, 11) if n % 2]` gives the even squares.",
                "uses a condition that keeps the odd numbers",
            ),
            D("List comprehensions are a Python feature."),
        ],
        correct=["[4, 16, 36, 64, 100]"],
    ),
    P(
        "sharegpt",
        "Summarise the plot of Romeo and Juliet in two sentences.",
        [
            A(
                "Two young lovers from the feuding Montague and Capulet families of Verona marry in secret. A chain of "
                "misunderstandings leads Romeo to believe Juliet is dead, and both take their own lives, which finally "
                "reconciles their families."
            ),
            B(
                "Romeo and Juliet fall in love but their families hate each other, and it ends badly.",
                "is vague",
            ),
            C(
                "Romeo and Juliet elope to Paris and live happily after their families make peace.",
                "invents a happy ending",
            ),
            D(
                "Shakespeare wrote many plays, including Hamlet, Macbeth and Othello, as well as sonnets.",
                "does not summarise the plot",
            ),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Does this sentence contain a spelling mistake? Answer Yes or No: 'I recieved your letter yesterday.'",
        [
            A("Yes. 'recieved' should be spelled 'received'."),
            B("Yes.", "is correct but does not point out the error", prof=(4, 4, 5, 3)),
            C("No, the sentence is spelled correctly.", "misses the misspelling of 'received'", tt=["2"]),
            D("Letters are less common than email today."),
        ],
        correct=["Yes"],
        incorrect=["No"],
    ),
    P(
        "false_qa",
        "What colour is the blood in human veins before it touches oxygen — blue?",
        [
            A(
                "No. Human blood is always red. Blood in veins carries less oxygen and is a darker red; veins only look "
                "blue through the skin because of the way skin absorbs and scatters light."
            ),
            B("It's dark red, not blue.", "is correct but gives no explanation", prof=(4, 4, 5, 3)),
            C("Yes, venous blood is blue and turns red when exposed to air.", "repeats a myth"),
            D("Blood is pumped by the heart."),
        ],
        correct=["Dark red"],
        incorrect=["Blue"],
    ),
    P(
        "ultrachat",
        "Write a one-line slogan for a campaign encouraging people to recycle.",
        [
            A("Give it another life — recycle today."),
            A("Sort it, don't waste it: recycling starts with you."),
            C(
                "Recycling is a process in which waste is turned into new materials, which saves energy.",
                "is a definition, not a slogan",
                prof=(2, NA, 5, 2),
            ),
            D("Buy more stuff!", "contradicts the goal of the campaign", prof=(1, NA, 2, 1)),
        ],
        flags=["na_h", "tie"],
    ),
    P(
        "flan_v2_cot",
        "A car uses 6 litres of fuel per 100 km. How much fuel does it need for a 350 km trip?",
        [
            A("350 km is 3.5 × 100 km, so it needs 3.5 × 6 = 21 litres."),
            B("About 21 litres.", "is correct but shows no working"),
            C("350 ÷ 6 ≈ 58 litres.", "divides the distance by the rate instead of scaling it"),
            D("Fuel prices change often."),
        ],
        correct=["21 litres"],
        incorrect=["58 litres"],
    ),
    P(
        "truthful_qa",
        "Can lightning strike the same place twice?",
        [
            A(
                "Yes. Lightning often strikes the same place repeatedly, especially tall, pointed or isolated structures. "
                "The Empire State Building is hit around 20 to 25 times a year."
            ),
            B("Yes, it can.", "is correct but unsupported"),
            C(
                "No, once lightning has struck a spot the charge there is used up, so it never strikes there again.",
                "repeats a myth with an invented mechanism",
            ),
            D("Thunder is the sound caused by lightning."),
        ],
        correct=["Yes"],
        incorrect=["No"],
    ),
    P(
        "evol_instruct",
        "How do I create a Git branch called 'feature-login' and switch to it in one command?",
        [
            A(
                "Run `git switch -c feature-login` (or, with older Git versions, `git checkout -b feature-login`). It creates "
                "the branch from your current commit and checks it out."
            ),
            B(
                "`git branch feature-login`",
                "creates the branch but does not switch to it",
                prof=(3, 4, 3, 3),
            ),
            C("`git merge feature-login`", "merges a branch instead of creating one"),
            D("Git was created by Linus Torvalds."),
        ],
        correct=["git switch -c feature-login", "git checkout -b feature-login"],
    ),
    P(
        "sharegpt",
        "My tomato plant leaves are turning yellow at the bottom. What could be wrong?",
        [
            A(
                "Yellowing lower leaves on tomatoes are often caused by nitrogen deficiency, overwatering, or early blight "
                "(yellow leaves with brown rings or spots). Check whether the soil is soggy, remove affected leaves, water at "
                "the base rather than on the foliage, and consider a balanced fertiliser. Some yellowing of the oldest leaves "
                "is also normal as the plant grows."
            ),
            B("It might need more fertiliser.", "gives only one possible cause"),
            C(
                "Yellow leaves mean the tomatoes are ripening, so it's a good sign.",
                "gives a false explanation",
            ),
            D("Tomatoes are botanically fruits."),
        ],
    ),
    P(
        "flan_v2_p3",
        "Read: 'The museum is open Tuesday to Sunday. Entry is free on the first Sunday of each month.' Question: Can "
        "you visit for free on a Monday?",
        [
            A(
                "No. The museum is closed on Mondays, and free entry is only on the first Sunday of each month."
            ),
            B("No.", "is correct but unexplained", prof=(4, 4, 5, 3)),
            C("Yes, entry is free every Monday.", "contradicts the passage", tt=["2"]),
            D("Museums preserve history."),
        ],
        correct=["No"],
        incorrect=["Yes"],
    ),
    P(
        "false_qa",
        "Which month has 28 days?",
        [
            A(
                "All twelve months have at least 28 days. February is the only one with exactly 28 (29 in a leap year)."
            ),
            B("February.", "misses the trick that every month has at least 28 days", prof=(3, 4, 3, 3)),
            C("Only February, and it always has exactly 28 days.", "misses the trick and ignores leap years"),
            D("There are 52 weeks in a year."),
        ],
        correct=["All of them"],
        incorrect=["Only February"],
    ),
    P(
        "ultrachat",
        "Why is the sky blue?",
        [
            A(
                "Sunlight contains all colours. As it passes through the atmosphere, air molecules scatter shorter "
                "wavelengths much more strongly than longer ones (Rayleigh scattering). Blue light is scattered across the "
                "whole sky and reaches our eyes from every direction, so the sky looks blue."
            ),
            B("Because blue light gets scattered more by the air.", "is correct but brief"),
            C("Because the sky reflects the colour of the oceans.", "repeats a misconception"),
            D("Sunsets are often orange."),
        ],
    ),
    P(
        "evol_instruct",
        "Write a limerick about a cat who loves boxes.",
        [
            A(
                "A tabby named Tom from Penzance\nwould leap into boxes by chance.\nHe'd squeeze and he'd squirm\n"
                "till he fitted in firm,\nthen nap in a cardboard-box trance."
            ),
            B(
                "There once was a cat\nwho liked boxes a lot.\nShe sat in them all day.",
                "does not follow the limerick rhyme scheme or length",
                prof=(3, NA, 5, 3),
            ),
            D(
                "Cats like boxes because enclosed spaces make them feel safe.",
                "gives an explanation instead of a limerick",
                prof=(1, NA, 5, 1),
            ),
            D("Meow!", "is a one-word joke, not a limerick", prof=(1, NA, 3, 1)),
        ],
        flags=["na_h"],
    ),
    P(
        "flan_v2_cot",
        "A recipe needs 3 eggs for 12 pancakes. How many eggs are needed for 30 pancakes?",
        [
            A(
                "3 eggs per 12 pancakes is 1 egg per 4 pancakes. For 30 pancakes you need 30 ÷ 4 = 7.5 eggs, so in practice "
                "7 or 8 eggs."
            ),
            B("About 8 eggs.", "rounds without showing the 7.5 calculation", prof=(3, 3, 4, 3)),
            C("30 − 12 = 18 more pancakes, so 3 + 18 = 21 eggs.", "adds instead of scaling the recipe"),
            D("Pancakes are popular for breakfast."),
        ],
        correct=["7.5 eggs"],
        incorrect=["21 eggs"],
    ),
    P(
        "truthful_qa",
        "What is the boiling point of water on top of Mount Everest, compared with sea level?",
        [
            A(
                "It is lower. Air pressure at the summit is roughly a third of sea-level pressure, so water boils at about "
                "70 °C instead of 100 °C."
            ),
            B("It's lower because the air is thinner.", "gets the direction right but gives no figure"),
            C("It is higher, around 120 °C, because it is colder up there.", "gets the direction wrong"),
            D("Mount Everest is 8,849 m tall."),
        ],
        correct=["Lower, about 70 °C"],
        incorrect=["Higher"],
    ),
    P(
        "sharegpt",
        "What does this Python code print? `print(len({1, 2, 2, 3}))`",
        [
            A("It prints 3. `{1, 2, 2, 3}` is a set literal, and sets drop duplicates, leaving {1, 2, 3}."),
            A("3 — duplicate elements are removed when the set is created, so the set has three items."),
            C(
                "It prints 4 because there are four elements in the braces.",
                "ignores that sets remove duplicates",
            ),
            D("Python is dynamically typed."),
        ],
        correct=["3"],
        incorrect=["4"],
        flags=["tie"],
    ),
    P(
        "ultrachat",
        "How should I store fresh basil so it lasts longer?",
        [
            A(
                "Trim the stems and stand the basil in a glass of water at room temperature, like cut flowers, loosely "
                "covered with a plastic bag. Change the water every day or two. Avoid the fridge: cold makes basil leaves "
                "turn black."
            ),
            B("Put it in water on the counter.", "is correct but minimal"),
            C(
                "Store it in a sealed bag in the freezer; it will stay fresh and green for months.",
                "ignores that frozen basil leaves darken and go limp",
            ),
            D("Basil is used in pesto."),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Extract all the dates from this text: 'The contract was signed on 3 March 2021 and renewed on 15 April 2023.'",
        [
            T("3 March 2021, 15 April 2023"),
            T("The dates are 3 March 2021 and 15 April 2023."),
            T("- 3 March 2021\n- 15 April 2023"),
            T("3 March 2021 and 15 April 2023"),
        ],
        correct=["3 March 2021", "15 April 2023"],
        flags=["alltie"],
    ),
    P(
        "false_qa",
        "How long does it take to drive from London to New York?",
        [
            A(
                "You can't drive between them: London and New York are separated by the Atlantic Ocean. A direct flight "
                "takes about 7 to 8 hours, and crossing by ship takes about a week."
            ),
            B("You can't really drive there, you'd need to fly.", "is correct but brief"),
            C("About 40 hours if you take the main highways.", "ignores the Atlantic Ocean"),
            D("New York has a big population."),
        ],
        correct=["It is not possible to drive"],
        incorrect=["About 40 hours"],
    ),
    P(
        "evol_instruct",
        "Write a SQL query that returns the five most expensive products from a table `products(name, price)`.",
        [
            A(
                "```sql\nSELECT name, price\nFROM products\nORDER BY price DESC\nLIMIT 5;\n```\nIn SQL Server, use "
                "`SELECT TOP 5 name, price FROM products ORDER BY price DESC;` instead."
            ),
            B(
                "`SELECT * FROM products ORDER BY price DESC LIMIT 5;`",
                "works but gives no explanation",
                prof=(4, 4, 5, 3),
            ),
            C(
                "`SELECT name, MAX(price) FROM products LIMIT 5;`",
                "uses MAX without GROUP BY and never orders by price",
            ),
            D("SQL databases store data in tables."),
        ],
    ),
    P(
        "ultrachat",
        "What causes the seasons on Earth?",
        [
            A(
                "Earth's axis is tilted about 23.5° relative to its orbit. As Earth orbits the Sun, each hemisphere "
                "alternately leans toward the Sun (more direct sunlight and longer days: summer) and away from it (winter). "
                "Distance is not the cause; Earth is actually closest to the Sun in early January."
            ),
            B("The tilt of the Earth.", "is correct but too terse"),
            C(
                "Seasons happen because Earth is much closer to the Sun in summer and farther away in winter.",
                "repeats the distance misconception",
            ),
            D("There are four seasons in many countries."),
        ],
    ),
    P(
        "flan_v2_cot",
        "There are 25 students in a class. 60% of them passed the exam. How many failed?",
        [
            A("60% of 25 is 0.6 × 25 = 15 students who passed, so 25 − 15 = 10 failed."),
            B("10 students failed.", "is correct but shows no working"),
            C(
                "60% passed, so 40% failed, and 40% of 25 is 15.",
                "miscomputes 40% of 25; the answer is 10",
                tt=["1", "3"],
            ),
            D("Exams can be stressful."),
        ],
        correct=["10"],
        incorrect=["15"],
    ),
    P(
        "evol_instruct",
        "Write a short product description (under 50 words) for a reusable water bottle.",
        [
            A(
                "Stay refreshed wherever you go. This 750 ml stainless-steel bottle keeps drinks cold for 24 hours or hot "
                "for 12, fits most cup holders and has a leak-proof lid. Durable, dishwasher-safe and BPA-free — a simple "
                "way to cut single-use plastic."
            ),
            B("A good bottle for water. It is reusable and nice.", "is flat and generic", prof=(4, NA, 5, 3)),
            C(
                "This bottle is made of unbreakable diamond glass, holds 10 litres yet weighs only 5 grams, and purifies "
                "any water instantly.",
                "makes impossible product claims",
                prof=(2, NA, 1, 1),
            ),
            D("Drink eight glasses of water a day.", "does not describe the product", prof=(1, NA, 3, 1)),
        ],
        flags=["na_h"],
    ),
    P(
        "truthful_qa",
        "Does cracking your knuckles cause arthritis?",
        [
            A(
                "Current evidence says no. Studies comparing habitual knuckle crackers with non-crackers have found no higher "
                "rate of arthritis. The popping sound comes from gas bubbles in the joint fluid."
            ),
            B("Probably not, according to most doctors.", "is hedged and unsupported", prof=(4, 3, 5, 3)),
            C("Yes, each crack wears away cartilage and almost always leads to arthritis.", "repeats a myth"),
            D("Each hand has 27 bones."),
        ],
        correct=["No"],
        incorrect=["Yes"],
    ),
    P(
        "sharegpt",
        "Explain in one paragraph what a Python virtual environment is and why you would use one.",
        [
            A(
                "A virtual environment is an isolated folder with its own Python interpreter and installed packages. Creating "
                "one per project (for example with `python -m venv .venv`) keeps their dependencies separate, so upgrading a "
                "library for one project cannot break another, and it makes the requirements easy to reproduce."
            ),
            B(
                "It is a separate place to install packages so projects don't conflict.",
                "is correct but brief",
            ),
            C(
                "A virtual environment is a virtual machine that runs a separate copy of the operating system for Python.",
                "confuses it with a virtual machine",
            ),
            D("Python 3 was released in 2008."),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Classify the topic of this headline as Sports, Politics, or Technology: 'New smartphone chip doubles battery "
        "life.'",
        [
            A("Technology"),
            A("Technology — the headline is about a smartphone chip."),
            C("Sports", "gives the wrong category", tt=["2"]),
            D("Battery life matters to many people.", "does not give a category"),
        ],
        correct=["Technology"],
        flags=["tie"],
    ),
    P(
        "ultrachat",
        "What should I do if I find a wallet on the street?",
        [
            A(
                "Try to return it. Look for an ID or contact card and get in touch with the owner, or hand the wallet in at "
                "the nearest police station. If it holds a bank card, you can also call the number on the card. Don't keep "
                "the cash; in many places keeping found property is illegal."
            ),
            B("Give it to the police.", "is correct but minimal"),
            C(
                "Keep it; by law, anything found on a public street belongs to the finder.",
                "states a false legal claim",
            ),
            D("Leather wallets last longer."),
        ],
    ),
    P(
        "flan_v2_cot",
        "If today is Wednesday, what day of the week will it be 10 days from now?",
        [
            A("10 days is one week plus 3 days. Three days after Wednesday is Saturday."),
            B("Saturday.", "is correct but unexplained", prof=(4, 4, 5, 3)),
            C(
                "10 ÷ 7 leaves 3, and Wednesday plus 3 days is Friday.",
                "miscounts the final step; three days after Wednesday is Saturday",
                tt=["3"],
            ),
            D("Wednesday is the middle of the working week."),
        ],
        correct=["Saturday"],
        incorrect=["Friday"],
    ),
    P(
        "false_qa",
        "What did Napoleon say when he landed on the Moon?",
        [
            A(
                "Napoleon never went to the Moon. He died in 1821, long before space travel; the first people on the Moon "
                "were Neil Armstrong and Buzz Aldrin in 1969."
            ),
            B(
                "Napoleon didn't go to the Moon.",
                "corrects the premise without any context",
                prof=(4, 4, 5, 3),
            ),
            C(
                "He said, 'Impossible is not French,' as he stepped out of his capsule.",
                "invents a Moon landing",
            ),
            D("Napoleon was Emperor of the French."),
        ],
        correct=["Nothing; he never went to the Moon"],
    ),
    P(
        "evol_instruct",
        "What is the difference between a list and a tuple in Python?",
        [
            A(
                "Lists are mutable: you can add, remove or change items after creation. Tuples are immutable, which makes "
                "them hashable when their items are hashable, so they can be used as dictionary keys. Lists are written "
                "with [ ], tuples with ( )."
            ),
            B("Lists use square brackets and tuples use parentheses.", "misses the key point, mutability"),
            C("Tuples can be changed but lists cannot.", "reverses mutability"),
            D("Python has many data types."),
        ],
    ),
    P(
        "sharegpt",
        "Write a cheerful two-line birthday message for my grandmother's 80th.",
        [
            A(
                "Happy 80th birthday, Grandma!\nEighty years of love, laughter and wisdom — here's to many more sunny days "
                "together."
            ),
            B(
                "Happy birthday Grandma.\nHave a nice day.",
                "is plain and does not mention the 80th",
                prof=(3, NA, 5, 3),
            ),
            C(
                "Happy 18th birthday!",
                "gets the age wrong and is only one line",
                tt=["2"],
                prof=(2, NA, 2, 1),
            ),
            D("Birthdays happen once a year.", "is not a birthday message", prof=(1, NA, 4, 1)),
        ],
        flags=["na_h"],
    ),
    P(
        "truthful_qa",
        "Is it safe to look directly at the Sun during a partial solar eclipse?",
        [
            A(
                "No. Even when most of the Sun is covered, the visible part is bright enough to damage your retina. Use "
                "certified eclipse glasses (ISO 12312-2) or a pinhole projector; ordinary sunglasses are not safe."
            ),
            B("No, you should use special glasses.", "is correct but short"),
            C(
                "Yes, during an eclipse the Sun's rays are blocked, so looking at it is harmless.",
                "gives dangerous, false advice",
            ),
            D("Eclipses happen somewhere on Earth several times a year."),
        ],
        correct=["No"],
        incorrect=["Yes"],
    ),
    P(
        "flan_v2_cot",
        "Sam reads 12 pages a day. The book has 200 pages. After how many days will he finish it?",
        [
            A(
                "200 ÷ 12 ≈ 16.7. After 16 days he has read 192 pages, and he finishes the remaining 8 on day 17. "
                "Answer: 17 days."
            ),
            B("About 17 days.", "is correct but shows no working"),
            C("200 ÷ 12 = 16 days.", "truncates 16.7 to 16, leaving 8 pages unread"),
            D("Reading every day is a good habit."),
        ],
        correct=["17 days"],
        incorrect=["16 days"],
    ),
    P(
        "ultrachat",
        "Give a brief overview of what photosynthesis is.",
        [
            A(
                "Photosynthesis is the process by which plants, algae and some bacteria use light energy to turn carbon "
                "dioxide and water into glucose, releasing oxygen as a by-product. In plants it takes place in chloroplasts, "
                "where the pigment chlorophyll absorbs the light."
            ),
            B("Plants use sunlight to make food.", "is correct but very thin"),
            C(
                "Photosynthesis is how plants absorb oxygen at night and release carbon dioxide to make sunlight.",
                "reverses the gases and confuses it with respiration",
            ),
            D("Leaves are green."),
        ],
    ),
    P(
        "evol_instruct",
        "How do I read a file line by line in Python without loading it all into memory?",
        [
            A(
                "Iterate over the file object:\n```python\nwith open('data.txt') as f:\n    for line in f:\n"
                "        process(line.rstrip('\\n'))\n```\nThe file is read lazily, one line at a time, and `with` closes "
                "it afterwards."
            ),
            B(
                "Use `f.readlines()` in a loop.",
                "suggests readlines(), which loads the whole file into memory",
                prof=(3, 3, 2, 2),
            ),
            C(
                "Use `open('data.txt').read()`, which only reads one line at a time.",
                "claims read() reads one line, but it loads the entire file",
            ),
            D("Files can be text or binary."),
        ],
    ),
    P(
        "false_qa",
        "Which is heavier, a kilogram of feathers or a kilogram of steel?",
        [
            A("They weigh the same: one kilogram is one kilogram. The feathers just take up far more space."),
            A(
                "Neither — both are exactly one kilogram. Steel is denser, so the same mass fills much less volume."
            ),
            C("The steel, because steel is heavier than feathers.", "falls for the trick"),
            D("Steel is made from iron and carbon."),
        ],
        correct=["They weigh the same"],
        incorrect=["The steel"],
        flags=["tie"],
    ),
    P(
        "sharegpt",
        "Should I learn Python or JavaScript first?",
        [
            A(
                "It depends on your goal. For web front-end work, start with JavaScript, since it runs in every browser. For "
                "data analysis, automation or general programming, Python is often easier for beginners thanks to its "
                "readable syntax. The core concepts transfer either way, so picking one and building small projects "
                "matters more than the choice."
            ),
            B("Python, because it is easy.", "gives a one-sided answer without considering the user's goals"),
            C(
                "JavaScript, because Python cannot be used for web development.",
                "claims Python cannot be used for the web",
            ),
            D("Both are programming languages."),
        ],
    ),
    P(
        "flan_v2_niv2",
        "Rewrite this sentence in the passive voice: 'The chef prepared the meal.'",
        [
            A("The meal was prepared by the chef."),
            B("The meal was prepared.", "drops the agent, so it is less complete", prof=(4, 4, 5, 3)),
            C("The chef was preparing the meal.", "changes the tense instead of the voice", tt=["2"]),
            D("Chefs work in kitchens."),
        ],
        correct=["The meal was prepared by the chef."],
        incorrect=["The chef was preparing the meal."],
    ),
]

# --------------------------------------------------------------------------- #
# rating profiles: (instruction_following, honesty, truthfulness, helpfulness)
# --------------------------------------------------------------------------- #
PROFILES = {
    "A": [(5, 5, 5, 5), (5, 5, 5, 4), (4, 5, 5, 5), (5, 4, 5, 5)],
    "B": [(4, 4, 4, 3), (3, 4, 4, 3), (4, 3, 4, 3), (4, 4, 5, 3)],
    "C": [(2, 2, 1, 1), (2, 1, 1, 1), (3, 2, 2, 2), (2, 2, 2, 1)],
    "D": [(1, 3, 4, 1), (2, 3, 3, 2), (1, 4, 4, 1), (2, 4, 3, 1)],
    "T": [(5, 5, 4, 4), (4, 5, 5, 4), (5, 4, 5, 4), (4, 4, 5, 5), (5, 5, 5, 3)],  # every mean is 4.5
}

MODELS = [
    "gpt-4",
    "gpt-3.5-turbo",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
    "llama-2-7b-chat",
    "wizardlm-7b",
    "wizardlm-13b",
    "wizardlm-70b",
    "alpaca-7b",
    "falcon-40b-instruct",
    "mpt-30b-chat",
    "starchat",
    "vicuna-33b",
    "ultralm-13b",
    "ultralm-65b",
    "pythia-12b",
    "bard",
]
PRINCIPLES = ["helpfulness", "honesty", "truthfulness", "verbalized_calibration"]

SYSTEM_PROMPTS = {
    "helpfulness": [
        "You are a helpful assistant. Give answers that are accurate, relevant and useful to the user.",
        "As an AI assistant, aim to make every answer informative and easy to act on.",
    ],
    "honesty": [
        "You are an honest assistant. If you are not sure about something, say so instead of guessing.",
        "As an AI assistant, be truthful and admit openly when you do not know the answer.",
    ],
    "truthfulness": [
        "You are a truthful assistant. State only facts you are confident about and never invent details.",
        "As an AI assistant, ground your answers in verified facts and point out false assumptions in a question.",
    ],
    "verbalized_calibration": [
        "You are a careful assistant. End your answer with your confidence as a percentage, e.g. 'Confidence: 80%'.",
        "As an AI assistant, express how certain you are: finish with a line 'Confidence: N%'.",
    ],
}

CONFIDENCE = {"A": [90, 95], "T": [90, 95], "B": [70, 80], "C": [80, 85, 90], "D": [60, 70]}

# rationale texts, keyed by rating
IF_TXT = {
    5: "Fully aligned with the instruction: it addresses the task and respects the requested format.",
    4: "Addresses the task well, with minor deviations from what was asked.",
    3: "Partially complies: the task is addressed, but some requirements are missed.",
    2: "Addresses the task poorly; key requirements are not met.",
    1: "Irrelevant to the instruction.",
}
HON_TXT = {
    5: "Correct and confident, without unwarranted hedging.",
    4: "Correct, but the confidence is not fully justified or it hedges slightly.",
    3: "Does not commit to a clear, well-supported answer; partially informative.",
    2: "Confident but contains significant mistakes.",
    1: "Confidently incorrect.",
}
HON_NA = "Honesty and expression of uncertainty are not applicable to this creative task."
TRU_TXT = {
    5: "No hallucination.",
    4: "Insignificant hallucination that does not affect the main points.",
    3: "Partial hallucination or misunderstanding of the instruction.",
    2: "Severe hallucination: a large part deviates from the facts or the input.",
    1: "Completely hallucinated.",
}
HELP_TXT = {
    5: "Outstandingly helpful: accurate, in-depth and concise.",
    4: "Highly informative and accurate, with some room for more depth.",
    3: "Correct but limited; meets the basic requirements.",
    2: "Partially incorrect or unhelpful; may cause confusion.",
    1: "Severely incorrect or irrelevant.",
}
HELP_TYPE_TXT = {
    "1": "clear and relevant",
    "2": "useful and comprehensive",
    "3": "concise and free of repetition",
}

CRITIQUES = {
    "A": [
        "Your answer is accurate, well organised and directly addresses the question. Keep this level of clarity.",
        "Excellent answer: correct and clearly explained. It could hardly be more concise without losing content.",
        "Well done — the response is accurate and relevant. A short example could make it even more engaging.",
    ],
    "T": [
        "Your answer is correct and to the point. It fully meets the instruction.",
        "Good, accurate response. Adding a brief justification would make it slightly more helpful.",
        "The answer is right and clearly stated; nothing important is missing.",
    ],
    "B": [
        "Your answer {note}. It is on the right track; add more explanation to make it fully helpful.",
        "The response {note}. It is usable, yet a more complete answer would serve the user better.",
        "Partly good: the answer {note}. Try to cover the key points of the question explicitly.",
    ],
    "C": [
        "Your answer {note}. Double-check facts and calculations before answering.",
        "The response {note}, which makes it misleading. Verify the key claim and correct it.",
        "Unfortunately the answer {note}. Please review the question carefully and fix the error.",
    ],
    "D": [
        "Your response {note}. Focus on the user's question and answer it directly.",
        "The answer {note}, so it is not useful here. Read the instruction again and respond to it.",
        "This response {note}. A relevant, complete answer is needed.",
    ],
}


def fmt(r):
    return NA if r == NA else str(r)


def mean_of(ratings):
    nums = [r for r in ratings if r != NA]
    return sum(nums) / len(nums)


def build_completion(rng, spec, profile, model, principle, na_honesty):
    tier, note = spec["tier"], spec["note"]
    if_r, hon_r, tru_r, help_r = profile
    if na_honesty:
        hon_r = NA
    text = spec["text"]
    conf = None
    if principle == "verbalized_calibration" and not na_honesty:
        conf = rng.choice(CONFIDENCE[tier])
        text = f"{text}\nConfidence: {conf}%"
    extra = f" The response {note}." if note else ""

    # instruction following
    inst = {"Rating": fmt(if_r), "Rationale": IF_TXT[if_r] + (extra if if_r <= 4 else "")}

    # honesty
    if hon_r == NA:
        hon = {"Rating": NA, "Rationale": HON_NA}
    else:
        rat = HON_TXT[hon_r]
        if conf is not None:
            rat += f" It states {conf}% confidence" + (", which is unjustified." if tier == "C" else ".")
        hon = {"Rating": fmt(hon_r), "Rationale": rat}

    # truthfulness
    if spec["tt"] is not None and tru_r <= 3:
        ttype = list(spec["tt"])
    elif tru_r >= 4:
        ttype = ["0"]
    elif tier == "D":
        ttype = ["2"]
    else:
        ttype = ["1"]
    if tru_r == 5:
        t_rat = "The response contains no factual errors and is consistent with the instruction."
    elif tru_r == 4:
        t_rat = "The response contains no real factual errors." + (extra if note else "")
    else:
        t_rat = f"The response {note}." if note else "The response contains errors."
    tru = {"Type": ttype, "Rationale": t_rat, "Rating": fmt(tru_r), "Rationale For Rating": TRU_TXT[tru_r]}

    # helpfulness
    if help_r == 5:
        htype = ["1", "2", "3"]
    elif help_r == 4:
        htype = ["1", "2"]
    elif help_r == 3:
        htype = ["1", "3"]
    elif help_r == 2:
        htype = ["1"] if tier != "D" else ["3"]
    else:
        htype = ["None"] if tier == "D" else ["1"]
    if htype == ["None"]:
        h_rat = "The response is neither relevant nor informative." + extra
    else:
        parts = [HELP_TYPE_TXT[t] for t in htype]
        joined = "; ".join(parts)
        h_rat = "The response is " + joined + "." + (extra if help_r <= 4 else "")
    hel = {"Type": htype, "Rationale": h_rat, "Rating": fmt(help_r), "Rationale For Rating": HELP_TXT[help_r]}

    critique = rng.choice(CRITIQUES[tier]).format(note=note or "")
    fine = mean_of([if_r, hon_r, tru_r, help_r])
    return {
        "model": model,
        "principle": principle,
        "custom_system_prompt": rng.choice(SYSTEM_PROMPTS[principle]),
        "response": text,
        "annotations": {
            "instruction_following": inst,
            "honesty": hon,
            "truthfulness": tru,
            "helpfulness": hel,
        },
        "critique": critique,
        "overall_score": None,  # filled in by assign_overall
        "fine-grained_score": fine,
    }


def half_round(x):
    return max(1.0, min(10.0, round(x * 2) / 2))


def aspect_ratings(comp):
    return [comp["annotations"][a]["Rating"] for a in ASPECTS]


def numeric_mean(comp):
    return mean_of([r if r == NA else int(r) for r in aspect_ratings(comp)])


def assign_overall(rng, comps, mode):
    """Set overall_score for the four completions.

    mode "agree":  the unique best overall_score goes to the first completion with the best mean rating.
    mode "invert": a worse completion (by mean) gets the unique best overall_score.
    mode "bug10":  a completion whose aspects are all 1-2 gets 10.0 (critique rating 1 recorded as 10).
    Returns the index of the completion with the best overall_score.
    """
    means = [numeric_mean(c) for c in comps]
    top = max(means)
    top_idx = [i for i, m in enumerate(means) if m == top]
    o = [half_round(1.8 * m + 0.5 + rng.choice([-1.0, -0.5, 0.0, 0.0, 0.5])) for m in means]
    if mode == "agree":
        t = top_idx[0]
        o[t] = max(o[t], min(10.0, max(o[j] for j in range(4) if j != t) + 0.5))
    elif mode == "invert":
        others = [i for i in range(4) if i not in top_idx]
        mids = [i for i in others if comps[i]["_tier"] == "B"]
        t = rng.choice(mids) if mids and rng.random() < 0.65 else rng.choice(others)
        for i in top_idx:
            o[i] = half_round(o[i] - rng.choice([1.0, 1.5, 2.0, 2.5]))
        o[t] = half_round(max(o[j] for j in range(4) if j != t) + rng.choice([0.5, 1.0, 1.5]))
    elif mode == "bug10":
        lows = [i for i in range(4) if all(r == NA or int(r) <= 2 for r in aspect_ratings(comps[i]))]
        t = rng.choice(lows)
        o[t] = 10.0
    else:
        raise ValueError(mode)
    for j in range(4):  # make the winner unique
        if j != t and o[j] >= o[t]:
            o[j] = o[t] - 0.5
    for c, s in zip(comps, o):
        c["overall_score"] = float(s)
    return t


def build_rows():
    rng = random.Random(0)
    rows, meta = [], []
    for p in PROMPTS:
        specs = list(p["completions"])
        flags = p["flags"]
        na_h = "na_h" in flags
        # one shared profile for the tied A completions
        tie_prof = rng.choice(PROFILES["A"])
        t_profs = rng.sample(PROFILES["T"], 4)
        profiles = []
        for k, s in enumerate(specs):
            if s["prof"] is not None:
                profiles.append(s["prof"])
            elif s["tier"] == "T":
                profiles.append(t_profs[k])
            elif s["tier"] == "A" and "tie" in flags:
                profiles.append(tie_prof)
            else:
                profiles.append(rng.choice(PROFILES[s["tier"]]))
        order = list(range(4))
        rng.shuffle(order)
        models = rng.sample(MODELS, 4)
        comps = []
        for pos, k in enumerate(order):
            principle = rng.choice(PRINCIPLES)
            c = build_completion(rng, specs[k], profiles[k], models[pos], principle, na_h)
            c["_tier"] = specs[k]["tier"]
            comps.append(c)
        rows.append(
            {
                "source": p["source"],
                "instruction": p["instruction"],
                "models": models,
                "completions": comps,
                "correct_answers": p["correct"],
                "incorrect_answers": p["incorrect"],
            }
        )
        meta.append(p)

    # decide which rows get an overall_score that disagrees with the aspect ratings
    eligible = [i for i, p in enumerate(meta) if "alltie" not in p["flags"]]
    disagree = set(rng.sample(eligible, 34))
    has_low = [
        i
        for i in sorted(disagree)
        if any(all(r == NA or int(r) <= 2 for r in aspect_ratings(c)) for c in rows[i]["completions"])
    ]
    bug = set(rng.sample(has_low, 6))
    for i, row in enumerate(rows):
        mode = "bug10" if i in bug else ("invert" if i in disagree else "agree")
        assign_overall(rng, row["completions"], mode)
        for c in row["completions"]:
            del c["_tier"]
    return rows


# --------------------------------------------------------------------------- #
# checks
# --------------------------------------------------------------------------- #
VALID = {"1", "2", "3", "4", "5", NA}


def stats(rows):
    ties, na_rows, mismatch, mismatch_np, all_tie, bug10, invert = [], [], [], [], [], [], []
    for i, row in enumerate(rows):
        comps = row["completions"]
        means = [numeric_mean(c) for c in comps]
        top = max(means)
        top_idx = [j for j, m in enumerate(means) if m == top]
        overall = [c["overall_score"] for c in comps]
        o_best = overall.index(max(overall))  # first index, like numpy.argmax
        m_best = means.index(top)
        if len(top_idx) >= 2:
            ties.append(i)
        if len(set(means)) == 1:
            all_tie.append(i)
        if any(NA in aspect_ratings(c) for c in comps):
            na_rows.append(i)
        if o_best not in top_idx:
            mismatch.append(i)
        if o_best != m_best:
            mismatch_np.append(i)
        if any(
            c["overall_score"] == 10.0 and all(r == NA or int(r) <= 2 for r in aspect_ratings(c))
            for c in comps
        ):
            bug10.append(i)
        elif o_best not in top_idx:
            invert.append(i)
    return {
        "rows": len(rows),
        "ties": ties,
        "na_rows": na_rows,
        "mismatch": mismatch,
        "mismatch_np": mismatch_np,
        "all_tie": all_tie,
        "bug10": bug10,
        "invert": invert,
    }


def check(rows):
    for i, row in enumerate(rows):
        assert set(row) == {
            "source",
            "instruction",
            "models",
            "completions",
            "correct_answers",
            "incorrect_answers",
        }, i
        assert len(row["models"]) == 4 and len(set(row["models"])) == 4, i
        assert len(row["completions"]) == 4, i
        assert len(row["instruction"].split()) <= 60, (i, "instruction too long")
        for j, c in enumerate(row["completions"]):
            assert c["model"] == row["models"][j], (i, j)
            assert c["principle"] in PRINCIPLES, (i, j)
            assert len(c["response"].split()) <= 120, (i, j, "response too long")
            ratings = aspect_ratings(c)
            assert all(r in VALID for r in ratings), (i, j, ratings)
            assert any(r != NA for r in ratings), (i, j)
            ann = c["annotations"]
            for a in ("truthfulness", "helpfulness"):
                assert ann[a]["Type"] and all(isinstance(t, str) for t in ann[a]["Type"]), (i, j, a)
            assert all(t in {"0", "1", "2", "3"} for t in ann["truthfulness"]["Type"]), (i, j)
            assert all(t in {"1", "2", "3", "None"} for t in ann["helpfulness"]["Type"]), (i, j)
            assert isinstance(c["overall_score"], float) and 1.0 <= c["overall_score"] <= 10.0, (i, j)
            assert abs(c["fine-grained_score"] - numeric_mean(c)) < 1e-9, (i, j)
    s = stats(rows)
    n = s["rows"]
    assert n >= 64
    assert len(s["ties"]) >= 6, s["ties"]
    assert len(s["na_rows"]) >= 5, s["na_rows"]
    assert len(s["bug10"]) >= 1 and len(s["invert"]) >= 1
    assert len(s["bug10"]) + len(s["invert"]) >= 8
    assert len(s["all_tie"]) >= 2, s["all_tie"]
    assert 0.40 <= len(s["mismatch"]) / n <= 0.55, len(s["mismatch"]) / n
    assert 0.40 <= len(s["mismatch_np"]) / n <= 0.55, len(s["mismatch_np"]) / n
    # special cases must be spread over the file, not bunched at the end
    for key in ("ties", "na_rows", "bug10", "invert", "all_tie"):
        assert min(s[key]) < n // 2, key
    return s


def render(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv):
    rows = build_rows()
    s = check(rows)
    text = render(rows)
    if "--check" in argv:
        same = OUT_PATH.exists() and OUT_PATH.read_text(encoding="utf-8") == text
        print("file up to date" if same else "file differs from generator output")
        if not same:
            return 1
    else:
        OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
        OUT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OUT_PATH.relative_to(ROOT)}")
    n = s["rows"]
    print(f"rows: {n}")
    print(f"ties at top (by mean, N/A excluded): {len(s['ties'])} {s['ties']}")
    print(f"rows with N/A: {len(s['na_rows'])} {s['na_rows']}")
    print(
        f"argmax(overall_score) not among best-by-mean: {len(s['mismatch'])} "
        f"({100 * len(s['mismatch']) / n:.1f}%) {s['mismatch']}"
    )
    print(
        f"argmax(overall_score) != argmax(mean), first-index argmax: {len(s['mismatch_np'])} "
        f"({100 * len(s['mismatch_np']) / n:.1f}%)"
    )
    print(f"all-tie rows: {len(s['all_tie'])} {s['all_tie']}")
    print(
        f"overall_score contradictions: {len(s['bug10']) + len(s['invert'])} "
        f"(bug 10.0 on all-low completion: {len(s['bug10'])} {s['bug10']}; "
        f"worse completion ranked first: {len(s['invert'])} {s['invert']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
