// How each left operand reads its fact from the request and how each operator compares it
// (docs/policies.md, "Left operands" and "Operators"): one atomic constraint at a time.
#include "policy/operands.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "policy/values.h"

namespace hanse::policy::internal {
namespace {

template <typename T>
bool Compare(const T& a, const T& b, Operator op) {
  switch (op) {
    case Operator::kEq:
      return a == b;
    case Operator::kNeq:
      return a != b;
    case Operator::kLt:
      return a < b;
    case Operator::kLteq:
      return a <= b;
    case Operator::kGt:
      return a > b;
    case Operator::kGteq:
      return a >= b;
    default:
      return false;
  }
}

class Operands {
 public:
  explicit Operands(const Request& request) : request_(request) {}

  static void Unknown(AtomicOutcome* out, std::string note) {
    out->verdict = Verdict::kUnknown;
    out->note = std::move(note);
  }

  static void Result(AtomicOutcome* out, bool ok, std::string note = "") {
    out->verdict = ok ? Verdict::kSatisfied : Verdict::kFailed;
    out->note = std::move(note);
  }

  void Run(const Constraint& c, AtomicOutcome* node) {
    AtomicOutcome& e = *node;
    if (!c.problem.empty()) {
      // The actual value is still useful in the trace when the operand is known.
      return Unknown(node, absl::StrCat(c.problem_field, ": ", c.problem));
    }
    switch (c.left_operand) {
      case LeftOperand::kDateTime: {
        const absl::Time t = *ParseDateTime(c.right[0]);
        e.actual = FormatInstant(request_.now);
        const bool ok = Compare(request_.now, t, c.op);
        return Result(node, ok,
                      absl::StrCat("now ", FormatInstant(request_.now), " ", c.operator_name, " ",
                                   FormatInstant(t), ok ? " holds" : " does not hold"));
      }
      case LeftOperand::kElapsedTime: {
        if (!request_.agreement_start) {
          return Unknown(node, "the request has no agreement start to measure elapsed time from");
        }
        const IsoDuration d = *ParseIsoDuration(c.right[0]);
        const absl::Time start = *request_.agreement_start;
        const absl::Time end = d.AddTo(start);
        e.actual =
            absl::StrCat(FormatElapsed(request_.now - start), " since ", FormatInstant(start));
        const bool ok = Compare(request_.now, end, c.op);
        return Result(
            node, ok,
            absl::StrCat("now ", FormatInstant(request_.now), " ", c.operator_name, " start + ",
                         c.right[0], " = ", FormatInstant(end), ok ? " holds" : " does not hold"));
      }
      case LeftOperand::kCount: {
        const int64_t limit = *ParseCount(c.right[0]);
        const int64_t n = request_.use_count < INT64_MAX ? request_.use_count + 1 : INT64_MAX;
        e.actual = absl::StrCat(n, " (", request_.use_count, " used so far + this use)");
        const bool ok = Compare(n, limit, c.op);
        return Result(node, ok,
                      absl::StrCat("this would be use ", n, "; ", n, " ", c.operator_name, " ",
                                   limit, ok ? " holds" : " does not hold"));
      }
      case LeftOperand::kSpatial:
        if (request_.country.empty()) {
          return Unknown(node, "the request has no consumer country");
        }
        e.actual = request_.country;
        return SetOp(c, {request_.country}, node, &Operands::CountryMatches);
      case LeftOperand::kJurisdiction:
        if (request_.jurisdictions.empty()) {
          return Unknown(node, "the request has no consumer jurisdictions");
        }
        e.actual = ListText(request_.jurisdictions, true);
        return SetOp(c, request_.jurisdictions, node, &Operands::CountryMatches);
      case LeftOperand::kPurpose:
        if (request_.purpose.empty()) return Unknown(node, "the request has no purpose");
        e.actual = request_.purpose;
        if (!request_.purpose_classes.empty()) {
          absl::StrAppend(&e.actual, " (a ", absl::StrJoin(request_.purpose_classes, ", "), ")");
        }
        return SetOp(c, {request_.purpose}, node, &Operands::PurposeMatches);
      case LeftOperand::kRecipient:
        if (request_.consumer.empty()) return Unknown(node, "the request names no consumer");
        e.actual = request_.consumer;
        if (c.op == Operator::kIsA) {
          // The recipient is an instance of a party collection it belongs to.
          if (!request_.party_collections) {
            return Unknown(node,
                           "the request does not say which party collections the consumer "
                           "belongs to");
          }
          return SetOp(c, {request_.consumer}, node, &Operands::MemberOf);
        }
        return SetOp(c, {request_.consumer}, node, &Operands::ExactMatches);
      case LeftOperand::kCertification: {
        std::vector<std::string> held;
        std::vector<std::string> described;
        for (const Certification& cert : request_.certifications) {
          std::string d = absl::StrCat(cert.name, " from ", cert.issuer);
          if (cert.valid_until != absl::InfiniteFuture()) {
            absl::StrAppend(&d, " until ", FormatInstant(cert.valid_until));
          }
          if (!(request_.now < cert.valid_until)) {
            absl::StrAppend(&d, " (expired)");
          } else if (!c.issuers.empty() && std::find(c.issuers.begin(), c.issuers.end(),
                                                     cert.issuer) == c.issuers.end()) {
            absl::StrAppend(&d, " (issuer not accepted)");
          } else {
            held.push_back(cert.name);
          }
          described.push_back(std::move(d));
        }
        e.actual = described.empty() ? "no certifications" : absl::StrJoin(described, "; ");
        return SetOp(c, held, node, &Operands::ExactMatches);
      }
      case LeftOperand::kTimeOfDay:
      case LeftOperand::kDayOfWeek: {
        absl::TimeZone zone;
        if (!absl::LoadTimeZone(c.time_zone, &zone)) {
          return Unknown(node, absl::StrCat("unknown time zone ", Printable(c.time_zone)));
        }
        const absl::CivilSecond local = absl::ToCivilSecond(request_.now, zone);
        if (c.left_operand == LeftOperand::kDayOfWeek) {
          // absl numbers Monday 0 ... Sunday 6.
          const int iso = static_cast<int>(absl::GetWeekday(absl::CivilDay(local))) + 1;
          e.actual = absl::StrCat(WeekdayName(iso), " in ", c.time_zone);
          return SetOp(c, {std::string(WeekdayName(iso))}, node, &Operands::ExactMatches);
        }
        const int actual = local.hour() * 3600 + local.minute() * 60 + local.second();
        const int required = *ParseTimeOfDay(c.right[0]);
        e.actual = absl::StrFormat("%02d:%02d:%02d in %s", local.hour(), local.minute(),
                                   local.second(), c.time_zone);
        const bool ok = Compare(actual, required, c.op);
        return Result(node, ok,
                      absl::StrCat("local time ", e.actual, " ", c.operator_name, " ", c.right[0],
                                   ok ? " holds" : " does not hold"));
      }
      case LeftOperand::kUnknown:
        break;
    }
    Unknown(node, "unknown left operand");
  }

  using Matcher = bool (Operands::*)(const std::string& actual, const std::string& required) const;

  bool ExactMatches(const std::string& x, const std::string& r) const { return x == r; }
  bool MemberOf(const std::string&, const std::string& r) const {
    const auto& in = *request_.party_collections;
    return std::find(in.begin(), in.end(), r) != in.end();
  }
  bool CountryMatches(const std::string& x, const std::string& r) const {
    if (x == r) return true;
    const std::vector<std::string>* group = CountryGroup(r);
    return group != nullptr && std::find(group->begin(), group->end(), x) != group->end();
  }
  bool PurposeMatches(const std::string& x, const std::string& r) const {
    if (x == r) return true;
    return x == request_.purpose &&
           std::find(request_.purpose_classes.begin(), request_.purpose_classes.end(), r) !=
               request_.purpose_classes.end();
  }

  // The set operators over the actual values L and the right operand R; see docs/policies.md.
  void SetOp(const Constraint& c, const std::vector<std::string>& actual, AtomicOutcome* node,
             Matcher m) {
    const std::vector<std::string>& R = c.right;
    auto covered = [&](const std::string& x) {
      for (const std::string& r : R) {
        if ((this->*m)(x, r)) return true;
      }
      return false;
    };
    auto held = [&](const std::string& r) {
      for (const std::string& x : actual) {
        if ((this->*m)(x, r)) return true;
      }
      return false;
    };
    // isA is "is an instance of": never a value's own identity.
    auto instance = [&](const std::string& x) {
      for (const std::string& r : R) {
        if (x != r && (this->*m)(x, r)) return true;
      }
      return false;
    };
    std::vector<std::string> uncovered, matching, missing, not_instances;
    for (const std::string& x : actual) (covered(x) ? matching : uncovered).push_back(x);
    for (const std::string& x : actual) {
      if (!instance(x)) not_instances.push_back(x);
    }
    for (const std::string& r : R) {
      if (!held(r)) missing.push_back(r);
    }
    const std::string right = ListText(R, c.right_is_list);
    const std::string none = actual.empty() ? "nothing" : ListText(actual, actual.size() > 1);
    switch (c.op) {
      case Operator::kEq:
        return Result(node, !matching.empty(),
                      matching.empty() ? absl::StrCat(none, " does not match ", right) : "");
      case Operator::kNeq:
        return Result(node, matching.empty(),
                      matching.empty() ? ""
                                       : absl::StrCat(ListText(matching, matching.size() > 1),
                                                      " matches ", right));
      case Operator::kIsA:
        if (actual.empty()) return Result(node, false, "nothing to compare");
        return Result(node, not_instances.empty(),
                      not_instances.empty() ? ""
                                            : absl::StrCat(absl::StrJoin(not_instances, ", "),
                                                           " is not an instance of ", right));
      case Operator::kIsPartOf:
        if (actual.empty()) return Result(node, false, "nothing to compare");
        return Result(node, uncovered.empty(),
                      uncovered.empty()
                          ? ""
                          : absl::StrCat(absl::StrJoin(uncovered, ", "), " not in ", right));
      case Operator::kIsAnyOf:
        return Result(node, !matching.empty(),
                      matching.empty() ? absl::StrCat(none, " is none of ", right) : "");
      case Operator::kIsNoneOf:
        return Result(
            node, matching.empty(),
            matching.empty() ? "" : absl::StrCat(absl::StrJoin(matching, ", "), " is in ", right));
      case Operator::kIsAllOf:
      case Operator::kHasPart:
        return Result(
            node, missing.empty(),
            missing.empty() ? "" : absl::StrCat("missing ", absl::StrJoin(missing, ", ")));
      default:
        return Unknown(node, "operator not defined for this operand");
    }
  }

 private:
  const Request& request_;
};

}  // namespace

std::string ListText(const std::vector<std::string>& values, bool list) {
  if (!list && values.size() == 1) return values[0];
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

AtomicOutcome EvaluateAtomic(const Constraint& c, const Request& request) {
  AtomicOutcome out;
  Operands(request).Run(c, &out);
  return out;
}

}  // namespace hanse::policy::internal
