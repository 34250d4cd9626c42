#include "catalog/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hanse::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TokenizerTest, SplitsOnPunctuationAndLowercases) {
  EXPECT_THAT(Tokenize("Air-Quality, NO2 (hourly); PM2.5"),
              ElementsAre("air", "quality", "no2", "hourly", "pm2"));
}

TEST(TokenizerTest, DropsShortTokens) {
  EXPECT_THAT(Tokenize("a b cd e"), ElementsAre("cd"));
  EXPECT_THAT(Tokenize(""), IsEmpty());
  EXPECT_THAT(Tokenize("  ,;  "), IsEmpty());
}

TEST(TokenizerTest, DropsOverlongTokensWithoutSplittingThem) {
  const std::string max(kMaxTokenBytes, 'x');
  const std::string over(kMaxTokenBytes + 1, 'y');
  EXPECT_THAT(Tokenize(max + " " + over + " ok"), ElementsAre(max, "ok"));
  // An overlong word must not leak its tail as a separate token.
  EXPECT_THAT(Tokenize(std::string(200, 'z') + "tail"), IsEmpty());
}

TEST(TokenizerTest, FoldsLatin1Letters) {
  EXPECT_THAT(Tokenize("ÉNERGIE Übersicht ÀÉÎÕÜÞ"), ElementsAre("énergie", "übersicht", "àéîõüþ"));
  EXPECT_THAT(Tokenize("Straße"), ElementsAre("straße"));  // ß has no Latin-1 upper case
}

TEST(TokenizerTest, Latin1SymbolsSeparate) {
  EXPECT_THAT(Tokenize("«bonjour»monde 3×4 a÷b x\u00a0yz"), ElementsAre("bonjour", "monde", "yz"));
  // ª, µ and º are letters.
  EXPECT_THAT(Tokenize("µg"), ElementsAre("µg"));
}

TEST(TokenizerTest, KeepsOtherUtf8AsWordCharacters) {
  // No folding beyond Latin-1: Greek capitals stay as they are.
  EXPECT_THAT(Tokenize("Ωμέγα 東京 data"), ElementsAre("Ωμέγα", "東京", "data"));
  // A lone multi-byte character of 2+ bytes is a token.
  EXPECT_THAT(Tokenize("é"), ElementsAre("é"));
}

TEST(TokenizerTest, InvalidUtf8IsKeptAsBytes) {
  EXPECT_THAT(Tokenize("ab\xff\xfe cd \xc3"), ElementsAre("ab\xff\xfe", "cd"));
}

TEST(TokenizerTest, BoundsTokensPerField) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "ab ";
  EXPECT_EQ(Tokenize(text).size(), kMaxTokensPerField);
  std::vector<std::string> out = {"already"};
  Tokenize("one two three four", &out, 2);
  EXPECT_THAT(out, ElementsAre("already", "one", "two"));
}

TEST(TokenizerTest, FoldCase) {
  EXPECT_EQ(FoldCase("Météo FRANCE ÀÖ×"), "météo france àö×");
  EXPECT_EQ(FoldCase("\xc3"
                     "A"),
            "\xc3"
            "a");
}

TEST(TokenizerTest, NormalizeFilterValue) {
  EXPECT_EQ(NormalizeFilterValue("  Météo France\t"), "météo france");
  EXPECT_EQ(NormalizeFilterValue("a\x01"
                                 "b\x7f"),
            "ab");
  EXPECT_EQ(NormalizeFilterValue(std::string("x\0y", 3)), "xy");
  EXPECT_EQ(NormalizeFilterValue("   "), "");
  std::string longv(300, 'A');
  longv[kMaxFilterValueBytes - 1] = ' ';
  const std::string n = NormalizeFilterValue(longv);
  EXPECT_EQ(n, std::string(kMaxFilterValueBytes - 1, 'a'));
  EXPECT_EQ(NormalizeFilterValue(n), n);
}

}  // namespace
}  // namespace hanse::catalog
