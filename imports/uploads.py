"""Uploaded files go to disk in chunks and stop at the import's size limit."""

from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler

from . import parsing


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """A file over parsing.MAX_FILE_BYTES is dropped as soon as it passes the limit (the rest is read and discarded).

    The view sees `request.upload_too_large` and says so; nothing past the limit is written anywhere."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > parsing.MAX_FILE_BYTES:
            self.request.upload_too_large = True
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)
