#pragma once
// The durable store in process: a producer the test drives (its Kafka), a real spool in a
// temporary directory, and the event loop the store's coroutines run on, bounded in time.

#include "spillway/capture/durable_store.hpp"

#include "unit/spool/spool_fixtures.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace spillway::capture::testing {

namespace net = boost::asio;

class durable_store_fixture : public ::testing::Test {
protected:
    durable_store_fixture() { open_spool(1ull << 30); }

    // A new spool (and store) with this spool.max_bytes.
    void open_spool(std::uint64_t max_bytes) {
        store_.reset();
        spool_.reset();
        spool_.emplace(dir_.config(max_bytes));
        store_.emplace(producer_, *spool_);
    }

    // Runs `task` on the loop until it has handed its record to the producer (or is done),
    // lets `kafka` answer (on this thread or another), then runs it to the end (bounded).
    // Returns its result and the thread it finished on; nothing when it did not finish.
    template <class T>
    std::optional<std::pair<T, std::thread::id>> run(netx::task<T> task,
                                                     const std::function<void()>& kafka) {
        std::optional<std::pair<T, std::thread::id>> result;
        ioc_.restart();  // the previous run ended when it ran out of work
        net::co_spawn(ioc_, std::move(task), [&](std::exception_ptr e, T value) {
            if (!e) {
                result.emplace(std::move(value), std::this_thread::get_id());
            }
        });
        ioc_.poll();
        kafka();
        ioc_.run_for(std::chrono::seconds(10));
        return result;
    }

    // The answers `kafka` can give.
    std::function<void()> deliver(bool ok) {
        return [this, ok] { producer_.finish(1, ok); };
    }
    std::function<void()> fail_with(kafka::errc error) {
        return [this, error] { producer_.finish_with(1, error); };
    }
    std::function<void()> from_another_thread(std::function<void()> answer) {
        return [answer = std::move(answer)] { std::thread(answer).join(); };
    }
    static std::function<void()> nothing() {
        return [] {};
    }

    net::io_context ioc_;
    spool::testing::temp_dir dir_;
    spool::testing::fake_producer producer_;
    std::optional<spool::spool> spool_;
    std::optional<durable_store> store_;
};

}  // namespace spillway::capture::testing
