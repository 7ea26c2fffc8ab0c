// The fixed-RNG transcript known-answer vectors (STYLE.md §9): a whole AKE and a data-message
// exchange between two engine Conversations, alice and bob, with DeterministicRng seeds, fixed
// instance tags and a fixed clock, written as tests/kat/vectors/ake_transcript.vec and
// data_transcript.vec. tests/kat/test_transcripts.cpp regenerates them and compares byte for byte
// (OTR_REGENERATE_VECTORS=1 rewrites the files instead); tests/interop/test_transcript_libotr.cpp
// has libotr 4.1.1 verify them.
#pragma once

#include <cstdint>
#include <string>

#include "support/vec_file.hpp"

namespace otr::test {

// The parameters the vectors are produced from.
inline constexpr std::uint64_t kTranscriptSeedAlice = 0x0a11ce;
inline constexpr std::uint64_t kTranscriptSeedBob = 0x0b0b;
inline constexpr std::uint32_t kTranscriptTagAlice = 0x1a2b3c4d;
inline constexpr std::uint32_t kTranscriptTagBob = 0x5e6f7a8b;
// kTranscriptClockSeconds is the fixed time of every call (steady clock, since its epoch).
inline constexpr std::int64_t kTranscriptClockSeconds = 1000;

// The lines exchanged after the AKE, in order ('a': alice sends, 'b': bob sends); alice then ends
// the conversation (a Disconnect TLV) and bob answers with one last message that publishes his
// MAC keys. alice speaks last so that the key her Disconnect announces, which bob's answer is
// sent to, is already recorded.
struct TranscriptLine {
  char from;
  const char* text;
};
inline constexpr TranscriptLine kTranscriptLines[] = {
    {'a', "hello bob"},    {'b', "hello alice"},  {'a', "how are you?"}, {'b', "fine, thanks"},
    {'a', "good to hear"}, {'a', "still there?"}, {'b', "bye for now"},  {'a', "see you"},
};

struct TranscriptVectors {
  VecFile ake;
  VecFile data;
};

// make_transcript_vectors runs the exchange and returns both files' contents. Throws
// std::runtime_error if the exchange does not go as scripted (so a vector is never written from
// a broken run).
TranscriptVectors make_transcript_vectors();

// The checked-in files.
std::string ake_transcript_path();
std::string data_transcript_path();

}  // namespace otr::test
