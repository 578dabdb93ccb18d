// TokenStore on a real state store: tokens are random, stored only as a salted hash,
// authenticate by their secret, and are audited when made or revoked.
#include <gtest/gtest.h>
#include <lifeboat/core/api/tokens.h>
#include <lifeboat/core/v1/model.pb.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <set>

namespace lifeboat::core::api {
namespace {

namespace fs = std::filesystem;

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-tokens-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = StateStore::Open(dir_ / "state");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    tokens_ = std::make_unique<TokenStore>(*store_, [this] { return now_.load(); });
  }
  void TearDown() override {
    tokens_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
  std::atomic<int64_t> now_{1700000000000000000};
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<TokenStore> tokens_;
};

TEST_F(TokenStoreTest, CreateThenAuthenticateWithTheRoleAndName) {
  auto made = tokens_->Create("ci-bot", Role::kOperator, "local");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->info.name, "ci-bot");
  EXPECT_EQ(made->info.role, Role::kOperator);
  EXPECT_EQ(made->info.created_by, "local");
  // lbt_ + 16 hex id + _ + 64 hex secret (256 bits).
  EXPECT_EQ(made->token.size(), 4u + 16 + 1 + 64);
  EXPECT_EQ(made->token.rfind("lbt_" + made->info.id + "_", 0), 0u);
  auto who = tokens_->Authenticate(made->token);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->name, "ci-bot");
  EXPECT_EQ(who->role, Role::kOperator);
}

TEST_F(TokenStoreTest, AnExpiredTokenIsRefusedSayingWhenItExpired) {
  auto made = tokens_->Create("ci-bot", Role::kViewer, "local", /*ttl_seconds=*/30 * 86400);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->info.expires_unix_nanos, now_.load() + int64_t{30} * 86400 * 1000000000);
  now_ += int64_t{30} * 86400 * 1000000000 - 1;  // the last nanosecond of its life
  EXPECT_TRUE(tokens_->Authenticate(made->token).ok());
  now_ += 1;
  auto who = tokens_->Authenticate(made->token);
  ASSERT_EQ(who.status().code(), Code::kUnauthenticated);
  // 1700000000 s + 30 days = 2023-12-14T22:13:20Z.
  EXPECT_NE(who.status().message().find("token 'ci-bot' expired at 2023-12-14T22:13:20Z"),
            std::string::npos)
      << who.status().ToString();
  EXPECT_EQ(who.status().message().find(made->token), std::string::npos);
  // Without a time to live it never expires; a negative one is refused.
  auto forever = tokens_->Create("forever", Role::kViewer, "local");
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->info.expires_unix_nanos, 0);
  now_ += int64_t{3650} * 86400 * 1000000000;
  EXPECT_TRUE(tokens_->Authenticate(forever->token).ok());
  EXPECT_EQ(tokens_->Create("bad", Role::kViewer, "local", -1).status().code(),
            Code::kInvalidArgument);
}

TEST_F(TokenStoreTest, TheSecretIsNotStoredAnywhereInTheRecord) {
  auto made = tokens_->Create("t", Role::kAdmin, "local");
  ASSERT_TRUE(made.ok());
  const std::string secret = made->token.substr(made->token.rfind('_') + 1);
  std::string all;
  ASSERT_TRUE(store_
                  ->Scan(Kind::kTokens, "",
                         [&](std::string_view k, std::string_view v) {
                           all += std::string(k) + std::string(v);
                           return true;
                         })
                  .ok());
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.find(secret), std::string::npos);
  EXPECT_EQ(all.find(made->token), std::string::npos);
  // Nor in the audit trail.
  auto audit = store_->List<core::v1::AuditEvent>(Kind::kAudit);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) EXPECT_EQ(a.DebugString().find(secret), std::string::npos);
}

TEST_F(TokenStoreTest, WrongSecretsAndMalformedTokensAreUnauthenticated) {
  auto made = tokens_->Create("t", Role::kViewer, "local");
  ASSERT_TRUE(made.ok());
  std::string flipped = made->token;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  for (const std::string& bad :
       {flipped, std::string("lbt_short"), std::string(""), made->token + "0",
        "xyz_" + made->token.substr(4), std::string(made->token).replace(30, 1, "G"),
        "lbt_0000000000000000_" + std::string(64, 'a')}) {
    auto who = tokens_->Authenticate(bad);
    EXPECT_EQ(who.status().code(), Code::kUnauthenticated) << bad;
    // The message never repeats the token (it may be logged).
    if (!bad.empty()) {
      EXPECT_EQ(who.status().message().find(bad), std::string::npos);
    }
  }
}

TEST_F(TokenStoreTest, TokensAreRandomAndNamesUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto made = tokens_->Create("t" + std::to_string(i), Role::kViewer, "local");
    ASSERT_TRUE(made.ok());
    EXPECT_TRUE(seen.insert(made->token).second);
  }
  EXPECT_EQ(tokens_->Create("t3", Role::kAdmin, "local").status().code(), Code::kAlreadyExists);
  EXPECT_EQ(tokens_->Create("bad name", Role::kAdmin, "local").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(tokens_->Create("", Role::kAdmin, "local").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(tokens_->Create(std::string(65, 'a'), Role::kAdmin, "local").status().code(),
            Code::kInvalidArgument);
  auto list = tokens_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 20u);
}

TEST_F(TokenStoreTest, RevokeEndsTheTokenAndBothAreAudited) {
  auto made = tokens_->Create("old", Role::kAdmin, "alice");
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(tokens_->Revoke("old", "bob").ok());
  EXPECT_EQ(tokens_->Authenticate(made->token).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(tokens_->Revoke("old", "bob").code(), Code::kNotFound);
  auto audit = store_->List<core::v1::AuditEvent>(Kind::kAudit);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action(), "token.create");
  EXPECT_EQ((*audit)[0].actor(), "alice");
  EXPECT_EQ((*audit)[0].subject(), "old");
  EXPECT_EQ((*audit)[1].action(), "token.revoke");
  EXPECT_EQ((*audit)[1].actor(), "bob");
  // The name is free again.
  EXPECT_TRUE(tokens_->Create("old", Role::kViewer, "bob").ok());
}

TEST_F(TokenStoreTest, TokensSurviveAReopen) {
  auto made = tokens_->Create("keep", Role::kOperator, "local");
  ASSERT_TRUE(made.ok());
  tokens_.reset();
  store_.reset();
  auto store = StateStore::Open(dir_ / "state");
  ASSERT_TRUE(store.ok());
  store_ = std::move(store).value();
  tokens_ = std::make_unique<TokenStore>(*store_, [] { return int64_t{1}; });
  auto who = tokens_->Authenticate(made->token);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->role, Role::kOperator);
}

TEST(RoleTest, NamesRoundTripAndOrder) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(RoleFromName(RoleName(r)), r);
  }
  EXPECT_FALSE(RoleFromName("Admin").has_value());
  EXPECT_FALSE(RoleFromName("root").has_value());
  EXPECT_LT(static_cast<int>(Role::kViewer), static_cast<int>(Role::kOperator));
  EXPECT_LT(static_cast<int>(Role::kOperator), static_cast<int>(Role::kAdmin));
}

}  // namespace
}  // namespace lifeboat::core::api
