// DssApiClient against the sample node's DSS API double, over real HTTP on loopback: the
// running tasks, a refused key, DSS stopped (nothing listens), a non-JSON answer, unexpected
// JSON, another HTTP status, and a key file others may read.
#include "datadir/dss_api.h"

#include <sys/stat.h>

#include <chrono>

#include <gtest/gtest.h>

#include "datadir/dss_control.h"
#include "sandbox/dss_api_server.h"
#include "tests/datadir_test_util.h"
#include "tests/support/wait.h"

namespace gb {
namespace {

using testing::NodeScratchDir;
using testing::WaitUntil;
using testing::WriteText;

class DssApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<SampleNode> node = testing::MakeRunningSmallNode(scratch_ / "node");
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = *node;
    Result<std::unique_ptr<DssApiServer>> server = DssApiServer::Start(node_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  void TearDown() override {
    server_.reset();
    EXPECT_TRUE(node_.KillSupervisor().ok());
  }

  // The client as backup builds it: the URL from install.ini, the node's key.
  Result<DssApiClient> Client(const std::string& key_file = "", const std::string& api_url = "") {
    GB_ASSIGN_OR_RETURN(DssApiEndpoint endpoint,
                        ResolveDssApiEndpoint(node_.data_dir, api_url,
                                              key_file.empty() ? node_.api_key_file() : key_file));
    endpoint.connect_timeout = std::chrono::seconds(2);
    return DssApiClient::Open(endpoint);
  }

  Status Dss(const char* verb) {
    GB_ASSIGN_OR_RETURN(DssControlOptions options, MakeDssControlOptions(node_.data_dir, "", ""));
    DssControl control(options);
    return std::string(verb) == "stop" ? control.Stop() : control.Start();
  }

  std::string KeyFile(const std::string& key, mode_t mode) {
    std::string path = scratch_ / "key";
    WriteText(path, key + "\n");
    ::chmod(path.c_str(), mode);
    return path;
  }

  NodeScratchDir scratch_;
  SampleNode node_;
  std::unique_ptr<DssApiServer> server_;
};

TEST_F(DssApiTest, TheUrlDefaultsToTheDssPortOfInstallIni) {
  Result<DssApiEndpoint> endpoint = ResolveDssApiEndpoint(node_.data_dir, "", "/k");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(endpoint->base_url, "http://127.0.0.1:" + std::to_string(node_.server_port));
  endpoint = ResolveDssApiEndpoint(node_.data_dir, "https://govern.example:8443/", "/k");
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->base_url, "https://govern.example:8443");

  WriteText(node_.data_dir + "/install.ini", "[general]\nnodetype = govern\n");
  endpoint = ResolveDssApiEndpoint(node_.data_dir, "", "/k");
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("install.ini has no [server] port"), std::string::npos);
  EXPECT_NE(endpoint.status().hint().find("api_url"), std::string::npos);

  WriteText(node_.data_dir + "/install.ini", "[general]\nnodetype = govern\n[server]\nport = 11200x\n");
  endpoint = ResolveDssApiEndpoint(node_.data_dir, "", "/k");
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("[server] port \"11200x\" is not a TCP port"),
            std::string::npos) << endpoint.status().ToString();
}

TEST_F(DssApiTest, ListsTheRunningTasksWithWhatTheyAre) {
  Result<DssApiClient> client = Client();
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  EXPECT_TRUE(tasks->empty());

  server_->SetRunningTasks({DssApiServer::ScenarioFuture("x8Kq2", "SALES", "BUILD_ALL"),
                            {{"jobId", "bare-1"}}});
  tasks = client->RunningTasks();
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].job_id, "x8Kq2");
  EXPECT_EQ((*tasks)[0].description,
            "Scenario BUILD_ALL of project SALES (jobId x8Kq2, owner admin, running 42 s)");
  EXPECT_EQ((*tasks)[1].description, "(jobId bare-1)");
  EXPECT_EQ(server_->futures_requests(), 2);
}

TEST_F(DssApiTest, ARefusedKeyNamesTheKeyFileNotTheKey) {
  const std::string secret = "not-the-key-7f3e9a";
  Result<DssApiClient> client = Client(KeyFile(secret, 0600));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  const std::string text = tasks.status().ToString();
  EXPECT_NE(text.find("the API key in " + std::string(scratch_ / "key") + " was refused by DSS (HTTP 401"),
            std::string::npos) << text;
  EXPECT_EQ(text.find(secret), std::string::npos) << text;
}

TEST_F(DssApiTest, AKeyFileOthersMayReadIsRefusedBeforeAnyRequest) {
  Result<DssApiClient> client = Client(KeyFile("whatever", 0644));
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("has mode 0644"), std::string::npos)
      << client.status().ToString();
  EXPECT_FALSE(Client(KeyFile("", 0600)).ok());
  EXPECT_EQ(server_->futures_requests(), 0);
}

// A stopped DSS listens nowhere: the double closes its port, the client says unreachable.
TEST_F(DssApiTest, DssStoppedIsUnreachableNamingTheUrl) {
  Result<DssApiClient> client = Client();
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(Dss("stop").ok());
  ASSERT_TRUE(WaitUntil([&] { return !server_->listening(); }, std::chrono::seconds(10)));
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("the DSS public API at " + client->FuturesUrl() +
                                          " is unreachable"),
            std::string::npos) << tasks.status().ToString();

  ASSERT_TRUE(Dss("start").ok());
  ASSERT_TRUE(WaitUntil([&] { return server_->listening(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(client->RunningTasks().ok());
}

TEST_F(DssApiTest, AnAnswerThatIsNotTheFuturesListIsAnError) {
  Result<DssApiClient> client = Client();
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  server_->SetAnswerGarbage(true);
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("answered something that is not JSON (\"<html>"),
            std::string::npos) << tasks.status().ToString();

  server_->SetAnswerGarbage(false);
  server_->SetRunningTasks({{"futures", nlohmann::json::array()}});
  tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("unexpected JSON: not a list of futures"),
            std::string::npos) << tasks.status().ToString();

  server_->SetRunningTasks({{{"id", 3}}});
  tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("a future without a jobId"), std::string::npos);
}

TEST_F(DssApiTest, AnotherHttpStatusIsReportedWithTheUrl) {
  const std::string base = "http://127.0.0.1:" + std::to_string(node_.server_port) + "/elsewhere";
  Result<DssApiClient> client = Client("", base);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Result<std::vector<DssTask>> tasks = client->RunningTasks();
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.status().message().find("the DSS public API at " + base +
                                          "/dip/publicapi/futures/?withScenarios=true&"
                                          "withNotScenarios=true&allUsers=true answered HTTP 404"),
            std::string::npos) << tasks.status().ToString();
}

}  // namespace
}  // namespace gb
