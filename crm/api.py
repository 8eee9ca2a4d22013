from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import WhoAmISerializer


class WhoAmIView(APIView):
    """The organization and key a request is made with: a cheap way to test a key."""

    @extend_schema(responses=WhoAmISerializer, summary="The organization and scope of this API key")
    def get(self, request):
        return Response(WhoAmISerializer({"organization": request.auth.organization, "api_key": request.auth}).data)
