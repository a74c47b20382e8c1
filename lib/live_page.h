/* live_page: the self-contained HTML page sp-serve answers GET / with.
 *
 * The page is edited as lib/live_page.html; the build turns it into these
 * bytes (xxd -i), so the server needs no file at run time and the page has
 * no external scripts, fonts or styles. */
#ifndef SP_LIVE_PAGE_H
#define SP_LIVE_PAGE_H

extern unsigned char live_page_html[];
extern unsigned int live_page_html_len;

#endif
