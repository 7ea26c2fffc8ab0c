// chat_input: what a line the person typed (or a script holds) asks for. Pure parsing, no I/O.
//
//   text                  sent to the peer (a line starting with "//" sends it with one "/")
//   /otr init             start (or refresh) the private conversation      (alias /otr start)
//   /otr finish           end the private conversation                     (alias /otr end)
//   /otr info             state, session id, fingerprints, trust, instance tags
//   /otr trust            mark the peer's current fingerprint verified
//   /otr distrust         clear that mark
//   /otr auth SECRET      start SMP with SECRET, or answer the peer's SMP question with it
//   /otr authq QUESTION SECRET   start SMP with a question: "quoted words" (in which a
//                         backslash escapes a quote or a backslash) or a single word; SECRET
//                         is the rest of the line
//   /otr authabort        abort SMP
//   /otr genkey           generate a new key for the account
//   /otr room             the private room (--channel): members and their state, nicks in the
//                         channel that are not in the room, the room digest
//   /me ACTION            send "* you ACTION" (a CTCP ACTION, encrypted like any line)
//   /query NICK           talk to NICK from now on (IRC: any nick; TCP: a connected peer)
//   /peers                the peers of this chat and the state of each conversation
//   /nick NICK            IRC: change our nick
//   /help                 list these
//   /quit                 end the private conversations and leave
// Script directives (mostly for batch mode; they also work at a terminal):
//   /wait private         until the conversation is encrypted
//   /wait text SUBSTRING  until a message containing SUBSTRING has arrived (each /wait text
//                         looks only at messages after the one the previous one matched)
//   /wait finished        until the peer has ended the private conversation
//   /wait smp             until an SMP exchange has ended (any outcome)
//   /wait auth            until the peer asks us to verify (then answer with /otr auth SECRET)
//   /wait room N          until N members of the private room (--channel) are private
//   /wait seen SUBSTRING  until a message containing SUBSTRING has arrived at any time (unlike
//                         /wait text, whatever arrived before or after: room lines from
//                         several members come in no fixed order)
//   /sleep MS             keep chatting for MS milliseconds before the next line
#pragma once

#include <string>
#include <string_view>

namespace otr::cli {

struct InputLine {
  enum class Kind {
    Empty,
    Text,
    Init,
    Finish,
    Info,
    Trust,
    Distrust,
    Release,
    Auth,
    AuthQ,
    AuthAbort,
    Genkey,
    Room,
    Help,
    Quit,
    Me,
    Query,
    Peers,
    Nick,
    WaitPrivate,
    WaitText,
    WaitFinished,
    WaitSmp,
    WaitAuth,
    WaitRoom,
    WaitSeen,
    Sleep,
    Bad,  // a mistake: |text| says what is wrong; nothing is sent
  };
  Kind kind = Kind::Empty;
  std::string text;      // Text, Me: the message; WaitText, WaitSeen: the substring; Query,
                         // Nick: the nick; Bad: the complaint
  std::string question;  // AuthQ
  std::string secret;    // Auth, AuthQ: never log or echo it
  long ms = 0;           // Sleep; WaitRoom: the number of members
};

// parse_input_line classifies one line (without its newline; a trailing CR is dropped).
InputLine parse_input_line(std::string_view line);

// kInChatHelp lists the commands for /help.
extern const char* const kInChatHelp;

}  // namespace otr::cli
