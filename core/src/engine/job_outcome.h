// How a job that did not succeed is told: the error a cancelled job records (what became of
// its work and what to do next, never the words of the plugin call it interrupted), and the
// event every ended-unsuccessful job records, typed by its kind and how much it matters.
// Also the count of a restore's changes per data set. Pure functions of the records.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_ENGINE_JOB_OUTCOME_H_
#define LIFEBOAT_CORE_ENGINE_JOB_OUTCOME_H_

#include <lifeboat/core/v1/model.pb.h>
#include <lifeboat/v1/plugin.pb.h>

#include <string>

namespace lifeboat::core {

struct JobEndEvent {
  v1::EventSeverity severity = v1::EVENT_SEVERITY_UNSPECIFIED;
  v1::EventKind kind = v1::EVENT_KIND_UNSPECIFIED;
  std::string message;
};

// The message of a cancelled job: `job` as it ended (its phase, steps, restore spec,
// changes), `point` the backup's restore point as it is after the clean-up ("" id: none
// was planned). Says what became of the work and what to do next.
std::string CancelledMessage(const v1::Job& job, const v1::RestorePoint& point);

// The event of a job that ended FAILED, CANCELLED or PARKED (state and error set):
// a cancel is a warning (job_cancelled); a parked job a warning (job_parked); a failure
// critical (restore_failed, switch_failed, or job_failed for a backup). A dry run that did
// not succeed put nothing at risk: a notice.
JobEndEvent EndEvent(const v1::Job& job);

// The changes a restore reported for one data set, counted by verb: "create X",
// "update X", "delete X"; any other line is `other`. `bytes` is the response's
// bytes_written (with dry_run: what the plugin says it would write).
v1::DataSetChanges CountChanges(const std::string& data_set,
                                const ::lifeboat::v1::RestoreResponse& r);

// Whether the job changes nothing (a restore or switch with dry_run).
bool IsDryRun(const v1::Job& job);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_ENGINE_JOB_OUTCOME_H_
