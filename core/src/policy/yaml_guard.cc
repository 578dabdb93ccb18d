#include "yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>

namespace lifeboat::core {
namespace {

// Notices a document that starts where the previous one started: the parser did not advance.
class ProgressWatch final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    stuck_ = stuck_ || (started_ && mark.pos == last_.pos);
    started_ = true;
    last_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  bool stuck() const { return stuck_; }
  const YAML::Mark& last() const { return last_; }

 private:
  bool started_ = false;
  bool stuck_ = false;
  YAML::Mark last_;
};

}  // namespace

Status CheckYamlTerminates(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  ProgressWatch watch;
  // Every document after the first begins at a "---" or after a "...", so a stream of n
  // bytes holds at most n + 1; the bound backs up the position check.
  const size_t max_documents = text.size() + 1;
  size_t documents = 0;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(watch)) {
      if (watch.stuck() || ++documents > max_documents) {
        const YAML::Mark& at = watch.last();
        return InvalidArgumentError(name + ":" + std::to_string(at.line + 1) + ":" +
                                    std::to_string(at.column + 1) +
                                    ": (document): a document cannot start here (with ',' or "
                                    "another token that begins no value); check the YAML");
      }
    }
  } catch (const YAML::Exception&) {
    return OkStatus();  // a plain syntax error: ParseYaml says where and why
  }
  return OkStatus();
}

}  // namespace lifeboat::core
