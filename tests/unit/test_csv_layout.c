/* Unit tests of lib/csv_layout: header recognition and the mapping of rows
 * to trip events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_layout.h"
#include "unit.h"

struct parsed {
    csv_splitter *s;
    csv_record rec;
};

/* Split one line into p->rec (the splitter keeps the bytes). */
static void split(struct parsed *p, const char *line)
{
    if (!p->s) p->s = csv_splitter_new();
    if (!csv_splitter_feed(p->s, line, strlen(line), 2, &p->rec)) p->rec.error = "no record";
}

static int layout_from(csv_layout *l, const char *header, const char *time_field, char *err,
                       size_t errlen)
{
    struct parsed h = {0};
    split(&h, header);
    int rc = csv_layout_init(l, &h.rec, time_field, "trips", err, errlen);
    csv_splitter_free(h.s);
    return rc;
}

/* Map line with l; returns the event text (static) or the reason. */
static const char *map_line(const csv_layout *l, const char *line, uint64_t pass_no, int64_t shift,
                            struct csv_row_error *err, int64_t *ms)
{
    static strbuf out = STRBUF_INIT;
    struct parsed p = {0};
    split(&p, line);
    sb_reset(&out);
    struct csv_pass pass = {pass_no, shift};
    int rc = csv_layout_map(l, &p.rec, &pass, &out, ms, err);
    csv_splitter_free(p.s);
    return rc == 0 ? out.data : err->reason;
}

TEST(recognises_headers)
{
    csv_layout l;
    char err[256];
    CHECK_INT(layout_from(&l, "trip_id,region_id,event_time,fare,duration,distance", NULL, err,
                          sizeof err),
              0);
    CHECK_INT(l.kind, CSV_LAYOUT_V1);
    csv_layout_free(&l);
    CHECK_INT(layout_from(&l, "\xEF\xBB\xBFtrip_id,region_id,event_time,fare,duration,distance",
                          NULL, err, sizeof err),
              0);
    CHECK_INT(l.kind, CSV_LAYOUT_V1);
    csv_layout_free(&l);
    CHECK_INT(layout_from(&l,
                          "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,"
                          "trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,"
                          "payment_type,fare_amount,extra",
                          NULL, err, sizeof err),
              0);
    CHECK_INT(l.kind, CSV_LAYOUT_NYC);
    CHECK_STR(csv_layout_name(&l), "NYC TLC");
    csv_layout_free(&l);
    CHECK_INT(layout_from(&l,
                          "vendor_id,pickup_datetime,dropoff_datetime,trip_distance,"
                          "pickup_location_id,fare_amount",
                          NULL, err, sizeof err),
              0);
    CHECK_INT(l.kind, CSV_LAYOUT_NYC);
    csv_layout_free(&l);
    CHECK_INT(layout_from(&l, "a,when,b", "when", err, sizeof err), 0);
    CHECK_INT(l.kind, CSV_LAYOUT_GENERIC);
    CHECK_INT(l.time_col, 1);
    csv_layout_free(&l);

    CHECK_INT(layout_from(&l, "a,when,b", NULL, err, sizeof err), -1);
    CHECK(strstr(err, "--time-field") != NULL);
    CHECK_INT(layout_from(&l, "a,when,b", "ts", err, sizeof err), -1);
    CHECK(strstr(err, "ts") != NULL);
    CHECK_INT(layout_from(&l, "a,\"when,b", NULL, err, sizeof err), -1);
}

TEST(labels)
{
    char out[64];
    csv_layout_label("/data/yellow_tripdata_sample_2019-01.csv", out, sizeof out);
    CHECK_STR(out, "yellow_tripdata_sample_2019-01");
    csv_layout_label("-", out, sizeof out);
    CHECK_STR(out, "stdin");
    csv_layout_label("trips.csv.gz", out, sizeof out);
    CHECK_STR(out, "trips.csv.gz");
    csv_layout_label(".csv", out, sizeof out);
    CHECK_STR(out, ".csv");
}

TEST(maps_v1_rows)
{
    csv_layout l;
    char err[256];
    struct csv_row_error e;
    int64_t ms;
    /* Columns out of order, and one extra that passes through. */
    CHECK_INT(layout_from(&l, "region_id,trip_id,event_time,fare,duration,distance,note", NULL, err,
                          sizeof err),
              0);
    CHECK_STR(
        map_line(&l, "5,trip_000001,2025-08-31T08:00:02Z,73.79,2113,23.0,hi", 0, 0, &e, &ms),
        "{\"trip_id\":\"trip_000001\",\"region_id\":5,\"event_time\":\"2025-08-31T08:00:02Z\","
        "\"fare\":73.79,\"duration\":2113,\"distance\":23.0,\"note\":\"hi\"}\n");
    CHECK_INT(ms, 1756627202000);
    /* Text stays text, empty becomes null, no range checks. */
    CHECK_STR(map_line(&l, "abc,,2025-08-31 08:00:02,-1,,1e3,", 0, 0, &e, &ms),
              "{\"trip_id\":null,\"region_id\":\"abc\",\"event_time\":\"2025-08-31 08:00:02\","
              "\"fare\":-1,\"duration\":null,\"distance\":1e3,\"note\":null}\n");
    /* A later loop pass: shifted, normalised time and a suffixed id. */
    map_line(&l, "5,t\"1,2025-08-31T08:00:02Z,1,60,1,", 2, 3600000, &e, &ms);
    CHECK_INT(e.type, DLQ_CSV_PARSE_ERROR);
    CHECK(strstr(e.reason, "quote") != NULL);
    CHECK_STR(map_line(&l, "5,t1,2025-08-31T08:00:02.5+00:00,1,60,1,", 2, 3600000, &e, &ms),
              "{\"trip_id\":\"t1#2\",\"region_id\":5,\"event_time\":\"2025-08-31T09:00:02.500Z\","
              "\"fare\":1,\"duration\":60,\"distance\":1,\"note\":null}\n");
    CHECK_INT(ms, 1756627202500 + 3600000);
    csv_layout_free(&l);
}

TEST(v1_rows_that_are_not_events)
{
    csv_layout l;
    char err[256];
    struct csv_row_error e;
    int64_t ms;
    CHECK_INT(layout_from(&l, "trip_id,region_id,event_time,fare,duration,distance", NULL, err,
                          sizeof err),
              0);
    map_line(&l, "t1,5,,1,60,1", 0, 0, &e, &ms);
    CHECK_INT(e.type, DLQ_CSV_PARSE_ERROR);
    CHECK_STR(e.field, "event_time");
    map_line(&l, "t1,5,yesterday,1,60,1", 0, 0, &e, &ms);
    CHECK_STR(e.field, "event_time");
    CHECK(strstr(e.reason, "yesterday") != NULL);
    map_line(&l, "t1,5,2025-08-31T08:00:02Z,1,60", 0, 0, &e, &ms);
    CHECK_INT(e.type, DLQ_CSV_PARSE_ERROR);
    CHECK_STR(e.field, "distance");
    CHECK(strstr(e.reason, "found 5") != NULL);
    map_line(&l, "t1,5,2025-08-31T08:00:02Z,1,60,1,1", 0, 0, &e, &ms);
    CHECK(e.field == NULL);
    CHECK(strstr(e.reason, "found 7") != NULL);
    map_line(&l, "t\xff,5,2025-08-31T08:00:02Z,1,60,1", 0, 0, &e, &ms);
    CHECK(strstr(e.reason, "UTF-8") != NULL);
    map_line(&l, "t1,\"5,2025-08-31T08:00:02Z,1,60,1", 0, 0, &e, &ms);
    CHECK_INT(e.type, DLQ_CSV_PARSE_ERROR);
    CHECK_STR(e.field, "region_id");
    CHECK_STR(e.reason, "region_id: unterminated quoted field");
    csv_layout_free(&l);
}

TEST(maps_nyc_rows)
{
    csv_layout l;
    char err[256];
    struct csv_row_error e;
    int64_t ms;
    CHECK_INT(layout_from(&l,
                          "vendor_id,pickup_datetime,dropoff_datetime,passenger_count,"
                          "trip_distance,pickup_location_id,fare_amount",
                          NULL, err, sizeof err),
              0);
    CHECK_STR(
        map_line(&l, "1,2019-01-15 03:36:12,2019-01-15 03:42:19,1,1.0,230,6.5", 0, 0, &e, &ms),
        "{\"trip_id\":\"trips:2\",\"region_id\":230,\"event_time\":\"2019-01-15T03:36:12Z\","
        "\"fare\":6.5,\"duration\":367,\"distance\":1.0}\n");
    CHECK_STR(
        map_line(&l, "1,2019-01-15 03:36:12,2019-01-15 03:42:19,1,1.0,230,6.5", 1, 60000, &e, &ms),
        "{\"trip_id\":\"trips:2#1\",\"region_id\":230,\"event_time\":\"2019-01-15T03:37:12Z\","
        "\"fare\":6.5,\"duration\":367,\"distance\":1.0}\n");
    /* Dropoff before pickup: a negative duration, for sp-validate to judge. */
    CHECK_STR(map_line(&l, "1,2019-01-15 03:36:12,2019-01-15 03:36:00,1,0,,-2.5", 0, 0, &e, &ms),
              "{\"trip_id\":\"trips:2\",\"region_id\":null,\"event_time\":\"2019-01-15T03:36:12Z\","
              "\"fare\":-2.5,\"duration\":-12,\"distance\":0}\n");
    map_line(&l, "1,2019-01-15 03:36:12,soon,1,1.0,230,6.5", 0, 0, &e, &ms);
    CHECK_INT(e.type, DLQ_CSV_PARSE_ERROR);
    CHECK_STR(e.field, "dropoff_datetime");
    map_line(&l, "1,,2019-01-15 03:36:12,1,1.0,230,6.5", 0, 0, &e, &ms);
    CHECK_STR(e.field, "pickup_datetime");
    csv_layout_free(&l);
}

TEST(maps_generic_rows)
{
    csv_layout l;
    char err[256];
    struct csv_row_error e;
    int64_t ms;
    CHECK_INT(layout_from(&l, "id,\"the \"\"time\"\"\",v", "the \"time\"", err, sizeof err), 0);
    CHECK_STR(map_line(&l, "007,1577836800,-0.5", 0, 0, &e, &ms),
              "{\"id\":\"007\",\"the \\\"time\\\"\":1577836800,\"v\":-0.5}\n");
    CHECK_INT(ms, 1577836800000);
    CHECK_STR(map_line(&l, "1,1577836800,", 3, 1500, &e, &ms),
              "{\"id\":1,\"the \\\"time\\\"\":1577836801.500,\"v\":\"\"}\n");
    CHECK_STR(map_line(&l, "1,2020-01-01T00:00:00Z,x", 1, 1000, &e, &ms),
              "{\"id\":1,\"the \\\"time\\\"\":\"2020-01-01T00:00:01Z\",\"v\":\"x\"}\n");
    map_line(&l, "1,,x", 0, 0, &e, &ms);
    CHECK_STR(e.field, "the \"time\"");
    csv_layout_free(&l);
}

TEST(repeated_column_names_give_one_member)
{
    csv_layout l;
    char err[256];
    struct csv_row_error e;
    int64_t ms;
    CHECK_INT(layout_from(&l, "a,ts,a,ts", "ts", err, sizeof err), 0);
    CHECK_STR(map_line(&l, "1,2020-01-01T00:00:00Z,2,x", 0, 0, &e, &ms),
              "{\"a\":1,\"ts\":\"2020-01-01T00:00:00Z\"}\n");
    csv_layout_free(&l);
    CHECK_INT(layout_from(&l, "trip_id,region_id,event_time,fare,duration,distance,fare,x,x", NULL,
                          err, sizeof err),
              0);
    CHECK_STR(map_line(&l, "t,1,2020-01-01T00:00:00Z,2,60,1,9,y,z", 0, 0, &e, &ms),
              "{\"trip_id\":\"t\",\"region_id\":1,\"event_time\":\"2020-01-01T00:00:00Z\","
              "\"fare\":2,\"duration\":60,\"distance\":1,\"x\":\"y\"}\n");
    csv_layout_free(&l);
}

int main(void)
{
    RUN(recognises_headers);
    RUN(labels);
    RUN(maps_v1_rows);
    RUN(v1_rows_that_are_not_events);
    RUN(maps_nyc_rows);
    RUN(maps_generic_rows);
    RUN(repeated_column_names_give_one_member);
    RETURN_SUMMARY();
}
