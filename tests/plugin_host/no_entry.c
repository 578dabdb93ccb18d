/* A shared library that is not a Lifeboat plugin: it exports no lifeboat_plugin_init (with
 * hidden visibility it exports nothing of its own at all). */
int hosttest_not_a_plugin(void);
int hosttest_not_a_plugin(void) { return 42; }
