#pragma once
// The executor and coroutine types every daemon's I/O runs on.
//
// Everything on a worker runs on its io_context: naming its executor type, instead of asio's
// type-erased any_io_executor, keeps type erasure off every socket, timer and coroutine
// resumption, and lets coroutines of one daemon await each other without a co_spawn between
// executors.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace spillway::netx {

namespace net = boost::asio;

using executor = net::io_context::executor_type;
template <class T>
using task = net::awaitable<T, executor>;
// Completion token for a task: results as a tuple, so errors are values, never exceptions.
inline constexpr auto use_task = net::as_tuple(net::use_awaitable_t<executor>{});
using steady_timer =
    net::basic_waitable_timer<std::chrono::steady_clock,
                              net::wait_traits<std::chrono::steady_clock>, executor>;

}  // namespace spillway::netx
