/* The peer server of bench/serve.sh (issue #11): gst-rtsp-server serving one
 * MPEG-TS file at rtsp://127.0.0.1:PORT/sample, one pipeline per client
 * (not shared), as a typical GStreamer RTSP service does:
 *   filesrc ! tsparse set-timestamps=true ! rtpmp2tpay
 * RTP over UDP only.  Stops on SIGINT or SIGTERM.  Never a test.
 * Usage: gst_peer FILE.ts PORT */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

static gboolean on_stop(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    if (argc != 3) {
        fprintf(stderr, "usage: gst_peer FILE.ts PORT\n");
        return 2;
    }
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer *server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[2]);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
    gchar *launch = g_strdup_printf("( filesrc location=\"%s\" ! tsparse set-timestamps=true ! "
                                    "rtpmp2tpay name=pay0 pt=33 )",
                                    argv[1]);
    gst_rtsp_media_factory_set_launch(f, launch);
    gst_rtsp_media_factory_set_shared(f, FALSE);
    gst_rtsp_media_factory_set_protocols(f, GST_RTSP_LOWER_TRANS_UDP);
    gst_rtsp_mount_points_add_factory(mounts, "/sample", f);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "gst_peer: cannot listen on 127.0.0.1:%s\n", argv[2]);
        return 1;
    }
    g_unix_signal_add(SIGINT, on_stop, loop);
    g_unix_signal_add(SIGTERM, on_stop, loop);
    g_main_loop_run(loop);
    g_free(launch);
    g_object_unref(server);
    g_main_loop_unref(loop);
    return 0;
}
