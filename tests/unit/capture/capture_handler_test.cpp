// The capture handler in process: its 503 answer (queued or not, the request id, Retry-After)
// and its counters per failure kind and sink, with a producer the test drives and a real spool.

#include "spillway/capture/capture_handler.hpp"

#include "unit/capture/capture_fixtures.hpp"

#include <nlohmann/json.hpp>

namespace spillway::capture {
namespace {

namespace http = boost::beast::http;

class CaptureHandlerTest : public testing::durable_store_fixture {
protected:
    CaptureHandlerTest() {
        cfg_.capture.retry_after_s = 7;
        req_.set(http::field::host, "api.example");
        req_.set(http::field::content_type, "application/json");
        req_.body() = R"({"name":"ada"})";
        req_.prepare_payload();
        record_.client_ip = "192.0.2.1";
        record_.method = "POST";
        record_.target = "/users";
    }

    capture_handler& handler() {
        if (!handler_) {
            handler_.emplace(cfg_, *store_);
        }
        return *handler_;
    }

    // The handler's answer to one failure of `kind`, with `kafka` as Kafka's answer.
    proxy::client_response answer(core::failure_kind kind, const std::function<void()>& kafka) {
        core::failure failure;
        failure.kind = kind;
        failure.detail = "test";
        auto r = run(handler().handle(req_, failure, record_, cfg_.capture), kafka);
        EXPECT_TRUE(r) << "the handler did not answer";
        return r ? r->first : proxy::client_response{};
    }

    config::config cfg_;
    proxy::client_request req_{http::verb::post, "/users", 11};
    proxy::request_record record_;
    std::optional<capture_handler> handler_;
};

TEST_F(CaptureHandlerTest, AStoredRequestIsAnswered503QueuedWithItsIdAndRetryAfter) {
    auto res = answer(core::failure_kind::connect_error, deliver(true));
    EXPECT_EQ(res.result_int(), 503u);
    EXPECT_EQ(res[http::field::retry_after], "7");
    EXPECT_EQ(res["X-Request-Id"], record_.id.str());
    const auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["error"], "backend_unavailable");
    EXPECT_EQ(body["queued"], true);
    EXPECT_EQ(body["request_id"], record_.id.str());
    EXPECT_EQ(body["retry_after"], 7);
    EXPECT_EQ(record_.queued, true);
}

TEST_F(CaptureHandlerTest, ASpooledRequestIsQueuedToo) {
    auto res = answer(core::failure_kind::timeout, deliver(false));
    EXPECT_EQ(nlohmann::json::parse(res.body())["queued"], true);
    EXPECT_EQ(record_.queued, true);
    EXPECT_EQ(spool_->records(), 1u);
}

TEST_F(CaptureHandlerTest, ARequestNothingCouldStoreIsAnsweredQueuedFalse) {
    auto res =
        answer(core::failure_kind::upstream_status, fail_with(kafka::errc::msg_size_too_large));
    EXPECT_EQ(res.result_int(), 503u);
    const auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["queued"], false);
    EXPECT_EQ(body["request_id"], record_.id.str());
    EXPECT_EQ(res[http::field::retry_after], "7");
    EXPECT_EQ(record_.queued, false);
}

TEST_F(CaptureHandlerTest, TheResponseStatusFollowsTheConfiguration) {
    cfg_.capture.response_status = 502;
    auto res = answer(core::failure_kind::connect_error, deliver(true));
    EXPECT_EQ(res.result_int(), 502u);
}

TEST_F(CaptureHandlerTest, CountsEachCaptureByFailureKindAndSink) {
    using core::failure_kind;
    answer(failure_kind::connect_error, deliver(true));
    answer(failure_kind::connect_error, deliver(true));
    answer(failure_kind::timeout, deliver(false));
    answer(failure_kind::upstream_reset, fail_with(kafka::errc::msg_size_too_large));
    producer_.refuse_next(1, kafka::errc::queue_full);
    answer(failure_kind::circuit_open, nothing());
    const auto& c = handler().counters();
    EXPECT_EQ(c.get(failure_kind::connect_error, sink::kafka), 2u);
    EXPECT_EQ(c.get(failure_kind::timeout, sink::spool), 1u);
    EXPECT_EQ(c.get(failure_kind::upstream_reset, sink::none), 1u);
    EXPECT_EQ(c.get(failure_kind::circuit_open, sink::spool), 1u);
    EXPECT_EQ(c.get(failure_kind::connect_error, sink::spool), 0u);
    EXPECT_EQ(c.get(failure_kind::timeout, sink::kafka), 0u);
}

TEST_F(CaptureHandlerTest, CountsAfterTheSpoolRefusedToo) {
    open_spool(16);
    answer(core::failure_kind::upstream_status, deliver(false));
    EXPECT_EQ(handler().counters().get(core::failure_kind::upstream_status, sink::none), 1u);
    EXPECT_EQ(handler().counters().get(core::failure_kind::upstream_status, sink::spool), 0u);
}

}  // namespace
}  // namespace spillway::capture
