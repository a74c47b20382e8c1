/* fuzz_api: any method and request target through the API's routing,
 * percent-decoding and parameter checks (no Redis: valid requests stop at
 * 503). The first byte picks the method; the rest is the raw target. Every
 * answer must have a status and a JSON object body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE"};
static const char *ranks[] = {"tripCount", "avgFare"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_metrics *metrics;
    static api_worker *worker;
    static struct api_config cfg = {.rank_metrics = ranks, .n_rank_metrics = 2};
    if (worker == NULL) {
        metrics = http_metrics_new(api_route_names, API_ROUTE_COUNT);
        cfg.metrics = metrics;
        worker = api_worker_new(&cfg);
    }
    if (size == 0) return 0;
    const char *method = methods[data[0] % 4];
    /* the target as a C string, as libmicrohttpd hands it over */
    char *target = malloc(size);
    memcpy(target, data + 1, size - 1);
    target[size - 1] = '\0';
    struct api_response resp;
    api_response_init(&resp);
    api_handle(worker, method, target, strlen(target), &resp);
    if (resp.status < 200 || resp.status > 599 || resp.body.len == 0) abort();
    if (resp.status != 200 && resp.body.data[0] != '{') abort();
    api_response_free(&resp);
    free(target);
    return 0;
}
