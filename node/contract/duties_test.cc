#include "node/contract/duties.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "catalog/store.h"
#include "node/contract/test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::contract {
namespace {

using ::hanse::testing::IsOk;
using ::hanse::testing::IsOkAndHolds;
using ::hanse::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace ::hanse::contract::testing;  // NOLINT

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ASSERT_TRUE(PathExists(path)) << path;
}

void MakeDir(const std::string& path) { ASSERT_EQ(mkdir(path.c_str(), 0700), 0) << path; }

std::vector<std::string> Ids(const std::vector<Duty>& duties) {
  std::vector<std::string> out;
  for (const Duty& d : duties) out.push_back(d.id);
  return out;
}

Duty DeleteDuty(const std::string& id, const std::string& path, absl::Time due) {
  Duty d;
  d.id = id;
  d.agreement_id = "urn:hanse:agreement:a1";
  d.kind = DutyKind::kDelete;
  d.path = path;
  d.due = due;
  return d;
}

class DutiesTest : public ::testing::Test {
 protected:
  DutiesTest() {
    Open();
    MakeDir(root_);
  }
  void Open() {
    duties_.reset();
    store_.reset();
    auto store = catalog::OpenRocksStore(tmp_.Sub("store"), {.create_if_missing = true});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    duties_ = std::make_unique<DutyScheduler>(store_.get());
  }

  // What the node's duty runner does: execute every due duty, then record it.
  int RunDue(absl::Time now) {
    int executed = 0;
    absl::StatusOr<std::vector<Duty>> due = duties_->Due(now);
    EXPECT_THAT(due, IsOk());
    for (const Duty& d : due.value_or(std::vector<Duty>{})) {
      std::string result = "notified";
      if (d.kind == DutyKind::kDelete) {
        absl::StatusOr<std::string> r = ExecuteDeleteDuty(root_, d.path);
        result = r.ok() ? *r : std::string(r.status().message());
      }
      EXPECT_THAT(duties_->MarkDone(d.id, result, now), IsOk());
      ++executed;
    }
    return executed;
  }

  hanse::testing::TempDir tmp_;
  std::string root_ = tmp_.Sub("data");
  std::unique_ptr<catalog::Store> store_;
  std::unique_ptr<DutyScheduler> duties_;
};

TEST_F(DutiesTest, DutiesSurviveReopenAndRunOnce) {
  WriteText(root_ + "/vitals.csv", "a,b\n1,2\n");
  ASSERT_THAT(duties_->Schedule(DeleteDuty("d-delete", "vitals.csv", kT0 + absl::Hours(720)), kT0),
              IsOk());
  Duty notify;
  notify.id = "d-notify";
  notify.agreement_id = "urn:hanse:agreement:a1";
  notify.kind = DutyKind::kNotify;
  notify.recipient = Did(NewKey());
  notify.due = kT0 + absl::Hours(1);
  ASSERT_THAT(duties_->Schedule(notify, kT0), IsOk());
  ASSERT_THAT(duties_->Schedule(DeleteDuty("d-other", "x", kT0 + absl::Hours(2)), kT0), IsOk());

  Open();
  EXPECT_THAT(duties_->Due(kT0), IsOkAndHolds(IsEmpty()));
  HANSE_ASSERT_OK_AND_ASSIGN(std::vector<Duty> due, duties_->Due(kT0 + absl::Hours(800)));
  EXPECT_THAT(Ids(due), ElementsAre("d-notify", "d-other", "d-delete"));  // by due time
  EXPECT_THAT(duties_->Due(kT0 + absl::Hours(1)), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(duties_->ForAgreement("urn:hanse:agreement:a1"), IsOkAndHolds(SizeIs(3)));

  const absl::Time run = kT0 + absl::Hours(800);
  EXPECT_EQ(RunDue(run), 3);
  EXPECT_FALSE(PathExists(root_ + "/vitals.csv"));
  Open();
  EXPECT_EQ(RunDue(run + absl::Hours(1)), 0);  // nothing runs twice after a restart
  HANSE_ASSERT_OK_AND_ASSIGN(Duty d, duties_->Get("d-delete"));
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.done_at, run);
  EXPECT_THAT(d.result, HasSubstr("deleted file vitals.csv"));
  EXPECT_THAT(duties_->Get("d-other")->result, HasSubstr("nothing to delete"));

  // A second MarkDone is a no-op that returns the first result.
  HANSE_ASSERT_OK_AND_ASSIGN(Duty again,
                             duties_->MarkDone("d-delete", "something else", run + absl::Hours(5)));
  EXPECT_EQ(again.result, d.result);
  EXPECT_EQ(again.done_at, run);
  Open();
  EXPECT_EQ(duties_->Get("d-delete")->result, d.result);
  EXPECT_THAT(duties_->MarkDone("nope", "x", run), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DutiesTest, ScheduleIsIdempotentPerId) {
  Duty d = DeleteDuty("d1", "a/b", kT0 + absl::Hours(1));
  HANSE_ASSERT_OK_AND_ASSIGN(Duty first, duties_->Schedule(d, kT0));
  HANSE_ASSERT_OK_AND_ASSIGN(Duty again, duties_->Schedule(d, kT0 + absl::Minutes(3)));
  EXPECT_EQ(again.created, first.created);
  Duty other = d;
  other.path = "a/c";
  EXPECT_THAT(duties_->Schedule(other, kT0), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(duties_->Schedule(DeleteDuty("d2", "", kT0), kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("path")));
  EXPECT_THAT(duties_->Schedule(DeleteDuty("", "x", kT0), kT0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id")));
}

TEST_F(DutiesTest, DeletesFilesAndTreesInsideTheRoot) {
  MakeDir(root_ + "/set");
  MakeDir(root_ + "/set/part");
  WriteText(root_ + "/set/a.csv", "a");
  WriteText(root_ + "/set/part/b.csv", "b");
  HANSE_ASSERT_OK_AND_ASSIGN(std::string result, ExecuteDeleteDuty(root_, "set"));
  EXPECT_EQ(result, "deleted directory set (3 entries inside)");
  EXPECT_FALSE(PathExists(root_ + "/set"));
  EXPECT_TRUE(PathExists(root_));
  EXPECT_THAT(ExecuteDeleteDuty(root_, "set"), IsOkAndHolds(HasSubstr("nothing to delete")));
  WriteText(root_ + "/f.bin", "12345");
  EXPECT_THAT(ExecuteDeleteDuty(root_ + "/", root_ + "/./f.bin"),
              IsOkAndHolds("deleted file f.bin (5 bytes)"));
}

TEST_F(DutiesTest, DeleteRefusesEscapes) {
  const std::string outside = tmp_.Sub("outside.txt");
  WriteText(outside, "keep me");
  EXPECT_THAT(ExecuteDeleteDuty(root_, "../outside.txt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("escapes")));
  EXPECT_THAT(ExecuteDeleteDuty(root_, "a/../../outside.txt"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("escapes")));
  EXPECT_THAT(ExecuteDeleteDuty(root_, outside),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the data root")));
  EXPECT_THAT(ExecuteDeleteDuty(root_, root_ + "-sibling/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the data root")));
  EXPECT_THAT(ExecuteDeleteDuty(root_, "."),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("root itself")));
  EXPECT_THAT(ExecuteDeleteDuty(root_, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(PathExists(outside));
}

TEST_F(DutiesTest, DeleteNeverFollowsSymlinksOutOfTheRoot) {
  const std::string outside_dir = tmp_.Sub("outside");
  MakeDir(outside_dir);
  WriteText(outside_dir + "/secret.txt", "keep me");
  // A link on the way to the target: refused.
  ASSERT_EQ(symlink(outside_dir.c_str(), (root_ + "/link").c_str()), 0);
  EXPECT_THAT(ExecuteDeleteDuty(root_, "link/secret.txt"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("symbolic link")));
  EXPECT_TRUE(PathExists(outside_dir + "/secret.txt"));
  // The link itself as the target: the link goes, its target stays.
  EXPECT_THAT(ExecuteDeleteDuty(root_, "link"),
              IsOkAndHolds(HasSubstr("deleted symbolic link link")));
  EXPECT_TRUE(PathExists(outside_dir + "/secret.txt"));
  // Links inside a deleted tree are removed, not followed.
  MakeDir(root_ + "/tree");
  ASSERT_EQ(symlink(outside_dir.c_str(), (root_ + "/tree/escape").c_str()), 0);
  ASSERT_EQ(symlink((outside_dir + "/secret.txt").c_str(), (root_ + "/tree/file").c_str()), 0);
  WriteText(root_ + "/tree/own.txt", "mine");
  EXPECT_THAT(ExecuteDeleteDuty(root_, "tree"), IsOkAndHolds(HasSubstr("3 entries")));
  EXPECT_FALSE(PathExists(root_ + "/tree"));
  EXPECT_TRUE(PathExists(outside_dir + "/secret.txt"));
  EXPECT_EQ(*ReadFile(outside_dir + "/secret.txt"), "keep me");
}

TEST_F(DutiesTest, SignedReceipts) {
  trust::PrivateKey consumer = NewKey();
  WriteText(root_ + "/x", "x");
  ASSERT_THAT(duties_->Schedule(DeleteDuty("d1", "x", kT0), kT0), IsOk());
  HANSE_ASSERT_OK_AND_ASSIGN(Duty pending, duties_->Get("d1"));
  EXPECT_THAT(ReceiptFor(pending, Did(consumer)), StatusIs(absl::StatusCode::kFailedPrecondition));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string result, ExecuteDeleteDuty(root_, "x"));
  HANSE_ASSERT_OK_AND_ASSIGN(Duty done, duties_->MarkDone("d1", result, kT0 + absl::Seconds(1)));
  HANSE_ASSERT_OK_AND_ASSIGN(DutyReceipt receipt, ReceiptFor(done, Did(consumer)));
  HANSE_ASSERT_OK_AND_ASSIGN(std::string jws, SignDutyReceipt(receipt, consumer));
  HANSE_ASSERT_OK_AND_ASSIGN(DutyReceipt back, VerifyDutyReceipt(jws));
  EXPECT_EQ(back.duty_id, "d1");
  EXPECT_EQ(back.agreement_id, "urn:hanse:agreement:a1");
  EXPECT_EQ(back.kind, "delete");
  EXPECT_EQ(back.executed_at, kT0 + absl::Seconds(1));
  EXPECT_EQ(back.result, result);
  EXPECT_EQ(back.executor_did, Did(consumer));
  EXPECT_EQ(trust::DecodeUnverified(jws)->typ, kDutyReceiptJwsType);

  trust::PrivateKey other = NewKey();
  EXPECT_THAT(SignDutyReceipt(receipt, other), StatusIs(absl::StatusCode::kPermissionDenied));
  // Signed by someone else than the executor named inside.
  std::string payload = trust::DecodeUnverified(jws)->payload;
  std::string forged = *trust::SignCompact(other, trust::DidKeyVerificationMethod(Did(other)),
                                           kDutyReceiptJwsType, payload);
  EXPECT_THAT(VerifyDutyReceipt(forged),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("executor")));
  // Tampered result.
  std::string header = jws.substr(0, jws.find('.'));
  std::string signature = jws.substr(jws.rfind('.') + 1);
  std::string changed = payload;
  changed.replace(changed.find("deleted"), 7, "kept!!!");
  EXPECT_THAT(
      VerifyDutyReceipt(absl::StrCat(header, ".", trust::Base64UrlEncode(changed), ".", signature)),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace hanse::contract
