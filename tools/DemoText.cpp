#include "DemoText.h"

#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <set>

namespace rlq {

namespace {

// ---------------------------------------------------------------------------
// The world. Creature names are invented; the seed assigns their traits.

const std::vector<std::string> kCreatureNames = {
    "blimmet", "zorbel",  "quandle", "frisket", "mobbin",  "tassock",  "glummox", "wendle",
    "sprocklet", "dorrin", "pellick", "yarrowin", "snibble", "throop", "vessimer", "cobbin",
    "flinder", "grelk",   "hubbet",  "jister",  "kelloo",  "lorrix",   "mungle",  "nebbit",
    "orrel",   "plimsey", "quorrin", "rumbleback", "skeevil", "tovey", "umbrick", "vumpet",
    "wuzzet",  "yomble",  "zinnick", "ashwick", "brindlet", "crommet", "dabberly", "eskle",
    "fennock", "gorsel",  "hollap",  "ivvet",   "jorram",  "kestrin",  "loppit",  "noddick",
};

const std::vector<std::string> kColours = {"red",    "blue",  "green", "yellow", "orange",
                                           "purple", "white", "black", "grey",   "brown"};
const std::vector<std::string> kHomes = {"the marsh",     "the pine forest", "the salt caves", "the river bank",
                                         "the high meadow", "the old mill",  "the sand dunes", "the frozen lake",
                                         "the hollow hill", "the apple orchard"};
const std::vector<std::string> kFoods = {"acorns",  "beetles", "moss",      "berries", "clover",
                                         "seaweed", "honey",   "mushrooms", "bark",    "snails"};
const std::vector<std::string> kSounds = {"a hum",   "a click", "a whistle", "a croak",
                                          "a chirp", "a growl", "a squeak",  "a hiss"};
const std::vector<std::string> kLegCounts = {"two", "four", "six", "eight"};
// Size classes by quarter of the size ranking, smallest quarter first.
const std::vector<std::string> kSizeClasses = {"tiny", "small", "large", "huge"};

struct Category {
    std::string answer;  // answer to "A pear is a kind of what?"
    std::string phrase;  // completes "Which of these is ...?"
    std::vector<std::string> members;
};

const std::vector<Category> kCategories = {
    {"fruit", "a fruit", {"apple", "pear", "banana", "plum", "cherry", "peach", "grape", "lemon"}},
    {"vegetable", "a vegetable", {"carrot", "onion", "potato", "cabbage", "turnip", "leek", "radish", "parsnip"}},
    {"tool", "a tool", {"hammer", "saw", "drill", "spanner", "chisel", "shovel", "rake", "screwdriver"}},
    {"animal", "an animal", {"horse", "cow", "sheep", "goat", "rabbit", "fox", "deer", "badger"}},
    {"vehicle", "a vehicle", {"bus", "train", "bicycle", "truck", "boat", "tram", "van", "tractor"}},
    {"musical instrument", "a musical instrument",
     {"drum", "flute", "violin", "piano", "trumpet", "harp", "guitar", "cello"}},
    {"furniture", "furniture", {"chair", "table", "sofa", "bed", "shelf", "desk", "stool", "wardrobe"}},
    {"clothing", "clothing", {"coat", "sock", "scarf", "boot", "glove", "hat", "shirt", "skirt"}},
};

// Lightest first.
const std::vector<std::string> kObjectsByWeight = {"feather", "leaf",  "coin",  "pencil",  "egg",
                                                   "apple",   "book",  "brick", "chair",   "bicycle",
                                                   "sheep",   "horse", "car",   "truck",   "ship"};

const std::vector<std::string> kDays = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
const std::vector<std::string> kMonths = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};

const std::vector<std::pair<std::string, std::string>> kOpposites = {
    {"hot", "cold"},     {"big", "small"},   {"fast", "slow"},    {"up", "down"},     {"open", "closed"},
    {"wet", "dry"},      {"light", "dark"},  {"happy", "sad"},    {"early", "late"},  {"full", "empty"},
    {"high", "low"},     {"hard", "soft"},   {"old", "young"},    {"loud", "quiet"},  {"thick", "thin"},
    {"rich", "poor"},    {"near", "far"},    {"strong", "weak"},  {"clean", "dirty"}, {"sweet", "sour"},
    {"long", "short"},   {"wide", "narrow"}, {"true", "false"},   {"first", "last"},
};

// Largest operand of the sums and differences, and largest number asked about.
constexpr int kMaxOperand = 10;
constexpr int kMaxMinuend = 15;
constexpr int kMaxCountedNumber = 40;

// Consecutive failed attempts (duplicates) after which filling gives up.
constexpr int kMaxFailedAttempts = 100000;

// ---------------------------------------------------------------------------
// Creature traits

enum Trait { Colour, Home, Food, Sound, Legs, Size, TraitCount };

struct TraitSpec {
    std::string family;                  // prefix of the question ids
    const std::vector<std::string>* values;
    std::vector<std::string> templates;  // %A is "a" or "an" and the name, %N the bare name
};

const std::array<TraitSpec, TraitCount> kTraitSpecs = {{
    {"colour", &kColours,
     {"What colour is %A?", "%A is usually what colour?", "Which colour does %A have?",
      "If you saw %A, what colour would it be?"}},
    {"home", &kHomes,
     {"Where does %A live?", "Where can you find a wild %N?", "%A makes its home in which place?",
      "Which place is home to the %N?"}},
    {"food", &kFoods,
     {"What does %A eat?", "What is the favourite food of %A?", "A hungry %N looks for what?",
      "Which food does %A like best?"}},
    {"sound", &kSounds,
     {"What sound does %A make?", "When %A is happy, what sound does it make?", "%A is known for which sound?"}},
    {"legs", &kLegCounts,
     {"How many legs does %A have?", "%A walks on how many legs?", "Count the legs of %A. How many are there?"}},
    {"size", &kSizeClasses, {"How big is %A?", "What size is a fully grown %N?"}},
}};

struct Creature {
    std::string name;
    std::array<std::string, TraitCount> traits;
    std::size_t sizeRank = 0; // 0 is the smallest creature
};

// ---------------------------------------------------------------------------
// Seeded choices

// Draws from std::mt19937_64, whose output the C++ standard fixes, with
// rejection sampling written here, because std::uniform_int_distribution
// and std::shuffle differ between standard libraries.
class DemoRandom {
public:
    explicit DemoRandom(uint64_t seed) : engine_(seed) {}

    // Uniform in [0, bound), bound > 0. Values below 2^64 mod bound are
    // redrawn so that every remainder is equally likely.
    std::size_t below(std::size_t bound)
    {
        const uint64_t rejectBelow = (0 - static_cast<uint64_t>(bound)) % bound;
        while (true) {
            const uint64_t value = engine_();
            if (value >= rejectBelow) {
                return static_cast<std::size_t>(value % bound);
            }
        }
    }

    template <typename T>
    const T& pick(const std::vector<T>& values)
    {
        return values[below(values.size())];
    }

    // Fisher-Yates.
    template <typename T>
    void shuffle(std::vector<T>& values)
    {
        for (std::size_t remaining = values.size(); remaining > 1; --remaining) {
            std::swap(values[remaining - 1], values[below(remaining)]);
        }
    }

    // `count` distinct entries of `values` in random order.
    template <typename T>
    std::vector<T> sample(std::vector<T> values, std::size_t count)
    {
        shuffle(values);
        values.resize(count);
        return values;
    }

private:
    std::mt19937_64 engine_;
};

// ---------------------------------------------------------------------------
// Wording helpers

std::string withArticle(const std::string& noun)
{
    const bool vowel = std::string("aeiou").find(noun.front()) != std::string::npos;
    return (vowel ? "an " : "a ") + noun;
}

std::string capitalized(std::string text)
{
    text.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(text.front())));
    return text;
}

void replaceAll(std::string& text, const std::string& placeholder, const std::string& value)
{
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
}

// Fills %A (article and noun) and %N (bare noun) and capitalizes the first letter.
std::string stemAbout(const std::string& pattern, const std::string& noun)
{
    std::string stem = pattern;
    replaceAll(stem, "%A", withArticle(noun));
    replaceAll(stem, "%N", noun);
    return capitalized(stem);
}

// "a pear, an apple, a plum or a harp"
std::string listWithArticles(const std::vector<std::string>& nouns)
{
    std::string list;
    for (std::size_t i = 0; i < nouns.size(); ++i) {
        if (i > 0) {
            list += i + 1 == nouns.size() ? " or " : ", ";
        }
        list += withArticle(nouns[i]);
    }
    return list;
}

// A key that is equal for two comparisons of the same kind over the same
// options, whatever their order.
std::string setKey(const std::string& kind, std::vector<std::string> options)
{
    std::sort(options.begin(), options.end());
    std::string key = kind;
    for (const std::string& option : options) {
        key += "|" + option;
    }
    return key;
}

// ---------------------------------------------------------------------------
// Questions

struct Choices {
    std::vector<std::string> texts;
    int answerIndex = -1;
};

// The answer and three distinct distractors from `candidates` (the answer
// itself is excluded) in random order.
Choices withDistractors(const std::string& answer, std::vector<std::string> candidates, DemoRandom& random)
{
    candidates.erase(std::remove(candidates.begin(), candidates.end(), answer), candidates.end());
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    if (candidates.size() < 3) {
        throw Error("demo question generator: fewer than 3 distractors for the answer '" + answer
                    + "'; add values to its list in DemoText.cpp");
    }

    Choices choices;
    choices.texts = random.sample(candidates, 3);
    choices.texts.push_back(answer);
    random.shuffle(choices.texts);
    choices.answerIndex = static_cast<int>(std::find(choices.texts.begin(), choices.texts.end(), answer)
                                           - choices.texts.begin());
    return choices;
}

// Options listed in the stem, in the same order as the choices.
Choices listedOptions(const std::vector<std::string>& options, const std::string& answer)
{
    Choices choices;
    choices.texts = options;
    choices.answerIndex = static_cast<int>(std::find(options.begin(), options.end(), answer) - options.begin());
    return choices;
}

// Collects questions, rejects repeats by key, and numbers ids per family.
class QuestionPool {
public:
    bool add(const std::string& family, const std::string& key, const std::string& stem, const Choices& choices)
    {
        if (!keys_.insert(key).second) {
            return false;
        }

        QaItem item;
        const int number = ++familyCounts_[family];
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "-%04d", number);
        item.id = family + suffix;
        item.stem = stem;
        item.choiceTexts = choices.texts;
        for (std::size_t i = 0; i < choices.texts.size(); ++i) {
            item.labels.emplace_back(1, static_cast<char>('A' + i));
        }
        item.answerIndex = choices.answerIndex;
        items_.push_back(std::move(item));
        return true;
    }

    // Adds a question whose stem is its own key.
    bool add(const std::string& family, const std::string& stem, const Choices& choices)
    {
        return add(family, stem, stem, choices);
    }

    std::size_t size() const { return items_.size(); }
    std::vector<QaItem>& items() { return items_; }

private:
    std::vector<QaItem> items_;
    std::set<std::string> keys_;
    std::map<std::string, int> familyCounts_;
};

std::vector<Creature> createCreatures(DemoRandom& random)
{
    std::vector<std::size_t> sizeRanks(kCreatureNames.size());
    for (std::size_t i = 0; i < sizeRanks.size(); ++i) {
        sizeRanks[i] = i;
    }
    random.shuffle(sizeRanks);

    std::vector<Creature> creatures;
    for (std::size_t i = 0; i < kCreatureNames.size(); ++i) {
        Creature creature;
        creature.name = kCreatureNames[i];
        creature.sizeRank = sizeRanks[i];
        creature.traits[Colour] = random.pick(kColours);
        creature.traits[Home] = random.pick(kHomes);
        creature.traits[Food] = random.pick(kFoods);
        creature.traits[Sound] = random.pick(kSounds);
        creature.traits[Legs] = random.pick(kLegCounts);
        creature.traits[Size] = kSizeClasses[creature.sizeRank * kSizeClasses.size() / kCreatureNames.size()];
        creatures.push_back(std::move(creature));
    }
    return creatures;
}

std::vector<std::string> numberTexts(int low, int high)
{
    std::vector<std::string> texts;
    for (int value = std::max(low, 0); value <= high; ++value) {
        texts.push_back(std::to_string(value));
    }
    return texts;
}

// Numbers within 3 of the answer, never negative, as distractors.
Choices numberChoices(int answer, DemoRandom& random)
{
    return withDistractors(std::to_string(answer), numberTexts(answer - 3, answer + 3), random);
}

void addCreatureTraitQuestions(const std::vector<Creature>& creatures, DemoRandom& random, QuestionPool& pool)
{
    for (const Creature& creature : creatures) {
        for (int trait = 0; trait < TraitCount; ++trait) {
            const TraitSpec& spec = kTraitSpecs[trait];
            for (const std::string& pattern : spec.templates) {
                const Choices choices = withDistractors(creature.traits[trait], *spec.values, random);
                pool.add(spec.family, stemAbout(pattern, creature.name), choices);
            }
        }
    }
}

void addCategoryQuestions(DemoRandom& random, QuestionPool& pool)
{
    std::vector<std::string> answers;
    for (const Category& category : kCategories) {
        answers.push_back(category.answer);
    }

    const std::vector<std::string> templates = {"%A is a kind of what?", "What kind of thing is %A?",
                                                "Which group does %A belong to?"};
    for (const Category& category : kCategories) {
        for (const std::string& member : category.members) {
            for (const std::string& pattern : templates) {
                pool.add("kind", stemAbout(pattern, member), withDistractors(category.answer, answers, random));
            }
        }
    }
}

void addArithmeticQuestions(DemoRandom& random, QuestionPool& pool)
{
    for (int a = 0; a <= kMaxOperand; ++a) {
        for (int b = 0; b <= kMaxOperand; ++b) {
            const std::string left = std::to_string(a);
            const std::string right = std::to_string(b);
            pool.add("plus", "What is " + left + " plus " + right + "?", numberChoices(a + b, random));
            pool.add("plus", "Add " + left + " and " + right + ". What do you get?", numberChoices(a + b, random));
        }
    }

    for (int a = 0; a <= kMaxMinuend; ++a) {
        for (int b = 0; b <= std::min(a, kMaxOperand); ++b) {
            const std::string left = std::to_string(a);
            const std::string right = std::to_string(b);
            pool.add("minus", "What is " + left + " minus " + right + "?", numberChoices(a - b, random));
            pool.add("minus", "Take " + right + " away from " + left + ". What is left?", numberChoices(a - b, random));
        }
    }
}

// Questions about the neighbours in a cycle (days of the week, months).
void addCycleQuestions(const std::vector<std::string>& cycle, const std::string& unit, DemoRandom& random,
                       QuestionPool& pool)
{
    const std::size_t count = cycle.size();
    for (std::size_t i = 0; i < count; ++i) {
        const std::string& next = cycle[(i + 1) % count];
        const std::string& previous = cycle[(i + count - 1) % count];
        std::vector<std::string> others = cycle;
        others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));

        pool.add(unit, "Which " + unit + " comes after " + cycle[i] + "?", withDistractors(next, others, random));
        pool.add(unit, "What is the " + unit + " after " + cycle[i] + "?", withDistractors(next, others, random));
        pool.add(unit, "Which " + unit + " comes before " + cycle[i] + "?", withDistractors(previous, others, random));
        pool.add(unit, "What is the " + unit + " before " + cycle[i] + "?", withDistractors(previous, others, random));
    }
}

void addCountingQuestions(DemoRandom& random, QuestionPool& pool)
{
    for (int n = 1; n <= kMaxCountedNumber; ++n) {
        const std::string number = std::to_string(n);
        pool.add("number", "What number comes after " + number + "?", numberChoices(n + 1, random));
        pool.add("number", "What number is one more than " + number + "?", numberChoices(n + 1, random));
        pool.add("number", "What number comes before " + number + "?", numberChoices(n - 1, random));
        pool.add("number", "What number is one less than " + number + "?", numberChoices(n - 1, random));
    }

    std::vector<std::string> letters;
    for (char letter = 'A'; letter <= 'Z'; ++letter) {
        letters.emplace_back(1, letter);
    }
    for (std::size_t i = 0; i < letters.size(); ++i) {
        std::vector<std::string> others = letters;
        others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));
        if (i + 1 < letters.size()) {
            pool.add("letter", "Which letter comes after " + letters[i] + " in the alphabet?",
                     withDistractors(letters[i + 1], others, random));
        }
        if (i > 0) {
            pool.add("letter", "Which letter comes before " + letters[i] + " in the alphabet?",
                     withDistractors(letters[i - 1], others, random));
        }
    }
}

void addOppositeQuestions(DemoRandom& random, QuestionPool& pool)
{
    std::vector<std::string> words;
    for (const auto& [first, second] : kOpposites) {
        words.push_back(first);
        words.push_back(second);
    }

    for (const auto& [first, second] : kOpposites) {
        for (const auto& [word, opposite] : {std::pair(first, second), std::pair(second, first)}) {
            std::vector<std::string> others = words;
            others.erase(std::remove(others.begin(), others.end(), word), others.end());
            pool.add("opposite", "What is the opposite of " + word + "?", withDistractors(opposite, others, random));
            pool.add("opposite", "Which word means the opposite of " + word + "?",
                     withDistractors(opposite, others, random));
        }
    }
}

// ---------------------------------------------------------------------------
// Questions over four listed options. Each function draws one question and
// returns whether the pool took it (false for a repeat).

using ListedQuestionMaker = std::function<bool(DemoRandom&, QuestionPool&)>;

// "Which of these eats moss: ...?" with exactly one creature that does.
bool addCreaturePick(const std::vector<Creature>& creatures, DemoRandom& random, QuestionPool& pool)
{
    const std::array<Trait, 3> traits = {Colour, Home, Food};
    const std::array<const char*, 3> verbs = {"is", "lives in", "eats"};
    const std::size_t traitIndex = random.below(traits.size());
    const Creature& answer = random.pick(creatures);
    const std::string& value = answer.traits[traits[traitIndex]];

    std::vector<std::string> others;
    for (const Creature& creature : creatures) {
        if (creature.traits[traits[traitIndex]] != value) {
            others.push_back(creature.name);
        }
    }
    std::vector<std::string> options = random.sample(others, 3);
    options.push_back(answer.name);
    random.shuffle(options);

    const std::string question = std::string("Which of these ") + verbs[traitIndex] + " " + value;
    return pool.add("creature-pick", setKey(question, options), question + ": " + listWithArticles(options) + "?",
                    listedOptions(options, answer.name));
}

bool addCreatureSizeComparison(const std::vector<Creature>& creatures, DemoRandom& random, QuestionPool& pool)
{
    const std::vector<Creature> drawn = random.sample(creatures, 4);
    const bool biggest = random.below(2) == 0;
    const auto smaller = [](const Creature& a, const Creature& b) { return a.sizeRank < b.sizeRank; };
    const Creature& answer = biggest ? *std::max_element(drawn.begin(), drawn.end(), smaller)
                                     : *std::min_element(drawn.begin(), drawn.end(), smaller);

    std::vector<std::string> options;
    for (const Creature& creature : drawn) {
        options.push_back(creature.name);
    }
    const std::string superlative = biggest ? "biggest" : "smallest";
    return pool.add("creature-size", setKey(superlative, options),
                    "Which is the " + superlative + ": " + listWithArticles(options) + "?",
                    listedOptions(options, answer.name));
}

bool addWeightComparison(DemoRandom& random, QuestionPool& pool)
{
    std::vector<std::size_t> ranks(kObjectsByWeight.size());
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        ranks[i] = i;
    }
    const std::vector<std::size_t> drawn = random.sample(ranks, 4);
    const bool heaviest = random.below(2) == 0;
    const std::size_t answer = heaviest ? *std::max_element(drawn.begin(), drawn.end())
                                        : *std::min_element(drawn.begin(), drawn.end());

    std::vector<std::string> options;
    for (const std::size_t rank : drawn) {
        options.push_back(kObjectsByWeight[rank]);
    }
    const std::string superlative = heaviest ? "heaviest" : "lightest";
    return pool.add("weight", setKey(superlative, options),
                    "Which is the " + superlative + ": " + listWithArticles(options) + "?",
                    listedOptions(options, kObjectsByWeight[answer]));
}

bool addCategoryPick(DemoRandom& random, QuestionPool& pool)
{
    const std::size_t categoryIndex = random.below(kCategories.size());
    const Category& category = kCategories[categoryIndex];
    const std::string answer = random.pick(category.members);

    std::vector<std::string> others;
    for (std::size_t i = 0; i < kCategories.size(); ++i) {
        if (i != categoryIndex) {
            others.insert(others.end(), kCategories[i].members.begin(), kCategories[i].members.end());
        }
    }
    std::vector<std::string> options = random.sample(others, 3);
    options.push_back(answer);
    random.shuffle(options);

    const std::string question = "Which of these is " + category.phrase;
    return pool.add("kind-pick", setKey(question, options), question + ": " + listWithArticles(options) + "?",
                    listedOptions(options, answer));
}

// Adds listed-option questions, one kind after the other, until the pool
// contains `total` questions.
void fillWithListedQuestions(const std::vector<Creature>& creatures, std::size_t total, DemoRandom& random,
                             QuestionPool& pool)
{
    const std::vector<ListedQuestionMaker> makers = {
        [&](DemoRandom& r, QuestionPool& p) { return addCreaturePick(creatures, r, p); },
        [&](DemoRandom& r, QuestionPool& p) { return addCreatureSizeComparison(creatures, r, p); },
        [](DemoRandom& r, QuestionPool& p) { return addWeightComparison(r, p); },
        [](DemoRandom& r, QuestionPool& p) { return addCategoryPick(r, p); },
    };

    std::size_t next = 0;
    int failedAttempts = 0;
    while (pool.size() < total) {
        if (makers[next % makers.size()](random, pool)) {
            failedAttempts = 0;
            ++next;
        } else if (++failedAttempts > kMaxFailedAttempts) {
            throw Error("demo question generator: no new question after " + std::to_string(kMaxFailedAttempts)
                        + " attempts at " + std::to_string(pool.size()) + " of " + std::to_string(total)
                        + " questions; request fewer questions");
        }
    }
}

void checkCounts(const DemoTextSettings& settings)
{
    if (settings.trainCount == 0 || settings.validationCount == 0 || settings.testCount == 0) {
        throw Error("demo question counts must all be positive (train " + std::to_string(settings.trainCount)
                    + ", validation " + std::to_string(settings.validationCount) + ", test "
                    + std::to_string(settings.testCount) + ")");
    }
}

std::vector<QaItem> takeItems(const std::vector<QaItem>& items, std::size_t& next, std::size_t count)
{
    std::vector<QaItem> part(items.begin() + static_cast<std::ptrdiff_t>(next),
                             items.begin() + static_cast<std::ptrdiff_t>(next + count));
    next += count;
    return part;
}

} // namespace

DemoQuestions generateDemoQuestions(const DemoTextSettings& settings)
{
    checkCounts(settings);
    const std::size_t total = settings.trainCount + settings.validationCount + settings.testCount;

    DemoRandom random(settings.seed);
    const std::vector<Creature> creatures = createCreatures(random);

    QuestionPool pool;
    addCreatureTraitQuestions(creatures, random, pool);
    addCategoryQuestions(random, pool);
    addArithmeticQuestions(random, pool);
    addCycleQuestions(kDays, "day", random, pool);
    addCycleQuestions(kMonths, "month", random, pool);
    addCountingQuestions(random, pool);
    addOppositeQuestions(random, pool);
    if (pool.size() > total) {
        throw Error("demo question generator: " + std::to_string(total) + " questions requested but the fixed facts alone give "
                    + std::to_string(pool.size()) + "; request at least that many");
    }
    fillWithListedQuestions(creatures, total, random, pool);

    std::vector<QaItem>& items = pool.items();
    random.shuffle(items);
    std::size_t next = 0;
    DemoQuestions questions;
    questions.test = takeItems(items, next, settings.testCount);
    questions.validation = takeItems(items, next, settings.validationCount);
    questions.train = takeItems(items, next, settings.trainCount);
    return questions;
}

std::string openBookQaJsonl(const std::vector<QaItem>& items)
{
    std::string text;
    for (const QaItem& item : items) {
        nlohmann::ordered_json choices = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < item.choiceTexts.size(); ++i) {
            choices.push_back({{"text", item.choiceTexts[i]}, {"label", item.labels[i]}});
        }

        nlohmann::ordered_json row;
        row["id"] = item.id;
        row["question"] = {{"stem", item.stem}, {"choices", choices}};
        row["answerKey"] = item.labels.at(static_cast<std::size_t>(item.answerIndex));
        text += row.dump() + "\n";
    }
    return text;
}

} // namespace rlq
