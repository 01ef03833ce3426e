#include "spillway/kafka/producer_metrics.hpp"

namespace spillway::kafka {

void write_delivery_latency(metrics::exposition& out, const producer::delivery_latency& latency,
                            std::string_view name) {
    out.family(name, "histogram",
               "From produce() to the delivery report (acks=all): delivered, or failed (timed "
               "out, refused; the record then went to the spool or is retried).");
    latency.delivered.write(out, name, {{"result", "delivered"}});
    latency.failed.write(out, name, {{"result", "failed"}});
}

}  // namespace spillway::kafka
