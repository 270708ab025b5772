// <regex> for the test programs, without gcc's false -Wmaybe-uninitialized inside libstdc++'s own
// regex compiler. gcc 12 (and 13, 14) at -O1 with -fsanitize=address, as scripts/ci-sanitizers.sh
// builds, reports std::function's _M_invoker "may be used uninitialized" where
// std::__detail::_NFA::_M_insert_subexpr_begin/_end and _M_insert_backref move a _State
// (bits/regex_automaton.h:149 into bits/std_function.h:405): any std::regex in a test triggers it
// (GCC bug 105616). The warning is about library code, not the tests', so it is ignored only while
// <regex> is read; everything the tests write stays checked. Include this instead of <regex>.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#else
#include <regex>
#endif
